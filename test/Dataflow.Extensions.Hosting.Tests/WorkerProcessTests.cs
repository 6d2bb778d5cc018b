using System.Diagnostics;
using System.Reflection;
using NUnit.Framework;

namespace Dataflow.Extensions.Hosting.Tests;

/// <summary>The sample worker as a real process: started, stopped with SIGTERM, and expected to drain cleanly.</summary>
[TestFixture]
public sealed class WorkerProcessTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60);

    [Test]
    [Platform(Exclude = "Win", Reason = "SIGTERM is a POSIX signal.")]
    public async Task Worker_OnSigterm_DrainsEveryRunAndExitsZero()
    {
        var inputs = Path.Combine(Path.GetTempPath(), $"dataflow-worker-{Guid.NewGuid():N}.txt");
        await File.WriteAllLinesAsync(inputs, Enumerable.Range(1, 100_000).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        try
        {
            var worker = typeof(WorkerProcessTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "WorkerPath").Value!;
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(worker);
            start.ArgumentList.Add("--inputs");
            start.ArgumentList.Add(inputs);
            using var process = Process.Start(start)!;
            var lines = new List<string>();
            var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (lines)
                {
                    lines.Add(e.Data);
                }

                if (e.Data.StartsWith("running:", StringComparison.Ordinal))
                {
                    running.TrySetResult();
                }
            };
            var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    errors.Enqueue(e.Data);
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            try
            {
                await Task.WhenAny(running.Task, process.WaitForExitAsync()).WaitAsync(HangGuard);
                Assert.That(running.Task.IsCompleted, Is.True, $"the worker never said it was running; stderr: {string.Join(" | ", errors)}");

                using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                {
                    await kill.WaitForExitAsync().WaitAsync(HangGuard);
                    Assert.That(kill.ExitCode, Is.Zero, "kill -TERM failed");
                }

                await process.WaitForExitAsync().WaitAsync(HangGuard);
            }
            finally
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            string[] output;
            lock (lines)
            {
                output = [.. lines];
            }

            var drained = output.SingleOrDefault(l => l.StartsWith("drained:", StringComparison.Ordinal));
            using (Assert.EnterMultipleScope())
            {
                Assert.That(process.ExitCode, Is.Zero, $"output: {string.Join(" | ", output)}; stderr: {string.Join(" | ", errors)}");
                Assert.That(drained, Is.Not.Null, $"no drain line; output: {string.Join(" | ", output)}");
                Assert.That(drained, Does.Match(@"^drained: (\d+) runs started, \1 ended in a final state \(\1 done, 0 cancelled, 0 failed\)$"),
                    "SIGTERM must let the runs in flight finish, not cancel them");
            }

            // It stopped early: SIGTERM came long before 100,000 inputs were read.
            var started = int.Parse(drained!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(started, Is.InRange(32, 99_999));
        }
        finally
        {
            File.Delete(inputs);
        }
    }
}

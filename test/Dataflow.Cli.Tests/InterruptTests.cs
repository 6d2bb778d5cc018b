using System.Diagnostics;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Tests;

/// <summary>Ctrl+C as a user sends it: SIGINT to a child process running <c>dataflow run</c>.</summary>
public sealed class InterruptTests : CliTestBase
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Run_OnSigint_CancelsRunsFlushesStoreAndPrintsSummary(CancellationToken cancellationToken)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "Dataflow.Cli.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        };
        foreach (var arg in new[] { cli, "run", "--count", "1000000", "--progress-interval", "0.1", "--db", Database })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var progressed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.StartsWith("progress:", StringComparison.Ordinal) == true && !e.Data.StartsWith("progress: 0 done", StringComparison.Ordinal))
            {
                progressed.TrySetResult();
            }
        };
        process.BeginOutputReadLine();
        var errorTask = process.StandardError.ReadToEndAsync(cancellationToken);

        await progressed.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(cancellationToken);
        }

        await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        var error = await errorTask;
        string text;
        lock (output)
        {
            text = output.ToString();
        }

        var events = await StoredEventsAsync();
        var runs = events.GroupBy(e => e.RunId).ToDictionary(g => g.Key, g => g.Select(e => e.Event).ToList());
        using (Assert.EnterMultipleScope())
        {
            Assert.That(process.ExitCode, Is.EqualTo(130), text + error);
            Assert.That(error, Does.Contain("cancelling").And.Contain("interrupted"));
            Assert.That(text, Does.Contain("Summary").And.Contain("interrupted").And.Contain("Cancelled"));
            Assert.That(runs, Is.Not.Empty);
            Assert.That(runs.Values.Select(r => r.Count(e => e is "complete" or "fail" or "cancel")), Is.All.EqualTo(1), "every stored run has exactly one final event");
            Assert.That(runs.Values.Count(r => r[^1] == "cancel"), Is.Positive);
            Assert.That(text, Does.Contain($"events written: {events.Count} "));
        }
    }
}

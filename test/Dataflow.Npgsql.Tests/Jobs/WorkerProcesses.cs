using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Dataflow.Npgsql.Jobs;

namespace Dataflow.Npgsql.Tests.Jobs;

/// <summary>
/// The worker test program (Dataflow.Npgsql.Tests.Worker) as real processes, for the crash tests: submit a job, start
/// workers and wait until each says it is ready, kill one once half the job is done, and clean up whatever is left.
/// </summary>
internal static class WorkerProcesses
{
    /// <summary>Starts the worker program with <paramref name="args"/> (its mode first: submit or run).</summary>
    public static Process Start(params string[] args)
    {
        var path = typeof(WorkerProcesses).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "WorkerPath").Value!;
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        info.ArgumentList.Add(Path.GetFullPath(path));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("Could not start a worker process.");
    }

    /// <summary>Queues <paramref name="count"/> inputs of <paramref name="job"/> through the program's submit mode.</summary>
    public static async Task SubmitAsync(string database, string job, int count, TimeSpan guard, CancellationToken cancellationToken)
    {
        using var submit = Start("submit", database, job, count.ToString(CultureInfo.InvariantCulture));
        Assert.That(await submit.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(guard, cancellationToken), Is.EqualTo($"queued {count}"), await submit.StandardError.ReadToEndAsync(cancellationToken));
        await submit.WaitForExitAsync(cancellationToken);
    }

    /// <summary>Starts one worker of <paramref name="job"/> per side file (2 s leases, <paramref name="inFlight"/> in flight each).</summary>
    public static Process[] StartWorkers(string database, string job, IEnumerable<string> sides, int inFlight)
        => [.. sides.Select(side => Start("run", database, job, side, "2000", inFlight.ToString(CultureInfo.InvariantCulture)))];

    /// <summary>Waits until every worker has said it is ready.</summary>
    public static async Task WaitReadyAsync(IEnumerable<Process> workers, TimeSpan guard, CancellationToken cancellationToken)
    {
        foreach (var worker in workers)
        {
            Assert.That(await worker.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(guard, cancellationToken), Is.EqualTo("ready"));
        }
    }

    /// <summary>Watches the job's progress until half of <paramref name="total"/> is done, then kills <paramref name="victim"/> with SIGKILL.</summary>
    /// <returns>The progress seen last before the kill.</returns>
    public static async Task<JobProgress> KillWhenHalfDoneAsync(JobQueue queue, string job, int total, Process victim, TimeSpan guard, CancellationToken cancellationToken)
    {
        JobProgress progress;
        do
        {
            await Task.Delay(20, cancellationToken);
            progress = await queue.ProgressAsync(job, cancellationToken);
        }
        while (progress.Done < total / 2);

        victim.Kill(entireProcessTree: true);
        await victim.WaitForExitAsync(cancellationToken).WaitAsync(guard, cancellationToken);
        return progress;
    }

    /// <summary>Kills the workers still running and releases them all.</summary>
    public static void KillAll(IEnumerable<Process> workers)
    {
        foreach (var worker in workers)
        {
            if (!worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
            }

            worker.Dispose();
        }
    }
}

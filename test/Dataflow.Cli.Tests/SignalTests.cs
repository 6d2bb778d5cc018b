using System.Diagnostics;

namespace Dataflow.Cli.Tests;

/// <summary>
/// SIGINT and SIGTERM as a user or a service manager sends them, to a child process. Read commands end on the
/// first signal, even while blocked in a call no token reaches (opening a FIFO); <c>run</c> stops gracefully.
/// </summary>
public sealed class SignalTests : CliTestBase
{
    [TestCase("TERM", 143)]
    [TestCase("INT", 130)]
    [CancelAfter(60_000)]
    public async Task ReadCommand_BlockedOnAFifo_EndsOnTheFirstSignal(string signal, int exitCode, CancellationToken cancellationToken)
    {
        var fifo = Path.Combine(Directory, "fifo.db");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync(cancellationToken);
        }

        using var cli = CliProcess.Start(Directory, "search", "anything", "--db", fifo, "--verbose");
        await cli.LineAsync(line => line.Contains("read-only", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

        await cli.SignalAsync(signal, cancellationToken);

        Assert.That(await cli.ExitAsync(cancellationToken), Is.EqualTo(exitCode), cli.ToString());
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Run_OnSigterm_CancelsRunsPrintsSummaryAndExits143(CancellationToken cancellationToken)
    {
        using var cli = CliProcess.Start(Directory, "run", "--count", "1000000", "--progress-interval", "0.1", "--db", Database);
        await cli.LineAsync(line => line.StartsWith("progress:", StringComparison.Ordinal) && !line.StartsWith("progress: 0 done", StringComparison.Ordinal))
            .WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);

        await cli.SignalAsync("TERM", cancellationToken);

        var exit = await cli.ExitAsync(cancellationToken);
        var events = await StoredEventsAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(exit, Is.EqualTo(143), cli.ToString());
            Assert.That(cli.Error, Does.Contain("cancelling").And.Contain("interrupted"));
            Assert.That(cli.Output, Does.Contain("Summary").And.Contain("interrupted").And.Contain($"events written: {events.Count} "));
            Assert.That(events.GroupBy(e => e.RunId).Select(r => r.Count(e => e.Event is "complete" or "fail" or "cancel")), Is.All.EqualTo(1));
        }
    }
}

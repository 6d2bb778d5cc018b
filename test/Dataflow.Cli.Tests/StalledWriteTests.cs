using Dataflow.Cli;
using Microsoft.Data.Sqlite;
using NUnit.Framework;

namespace Dataflow.Cli.Tests;

/// <summary>A store write that another process blocks shows in the progress line instead of freezing silently.</summary>
[TestFixture]
public sealed class StalledWriteTests : CliTestBase
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Run_WhileAnotherConnectionHoldsTheLock_ShowsTheStall_ThenFinishes(CancellationToken cancellationToken)
    {
        await RunCliAsync("run", "--count", "1", "--db", Database);
        var output = new WatchingWriter();
        var error = new StringWriter();
        var run = Cli.RunAsync(["run", "--count", "3000", "--progress-interval", "0.05", "--db", Database], new CliConsole(output, error, isTerminal: false), cancellationToken);

        await output.Seen("progress:").WaitAsync(cancellationToken);
        using (var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database, Pooling = false }.ToString()))
        {
            await holder.OpenAsync(cancellationToken);
            using var exclusive = holder.CreateCommand();
            exclusive.CommandText = "BEGIN EXCLUSIVE;";
            await exclusive.ExecuteNonQueryAsync(cancellationToken);

            var stalled = await output.Seen("store write stalled").WaitAsync(cancellationToken);
            Assert.That(stalled, Does.Match(@"store write stalled for \d+\.\ds: .*lock"), stalled);
            Assert.That(run.IsCompleted, Is.False, "the batch waits for the store, it does not end");

            exclusive.CommandText = "ROLLBACK;";
            await exclusive.ExecuteNonQueryAsync(cancellationToken);
        }

        var exit = await run.WaitAsync(cancellationToken);
        Assert.That(exit, Is.AnyOf(0, 1), output + error.ToString());
        Assert.That(output.ToString(), Does.Contain("3000 runs"), "the summary counts every run");
        var stored = await StoredEventsAsync();
        Assert.That(stored.Count(e => e.Event is "complete" or "fail" or "cancel"), Is.EqualTo(3001), "nothing was lost while the store was stalled");
    }

    /// <summary>Collects the output and completes a wait once a line holding some text was written.</summary>
    private sealed class WatchingWriter : StringWriter
    {
        private readonly Lock _gate = new();
        private readonly List<(string Text, TaskCompletionSource<string> Seen)> _watches = [];

        public Task<string> Seen(string text)
        {
            lock (_gate)
            {
                var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                foreach (var line in ToString().Split('\n'))
                {
                    if (line.Contains(text, StringComparison.Ordinal))
                    {
                        done.SetResult(line);
                        return done.Task;
                    }
                }

                _watches.Add((text, done));
                return done.Task;
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_gate)
            {
                base.WriteLine(value);
                foreach (var (text, seen) in _watches)
                {
                    if (value?.Contains(text, StringComparison.Ordinal) == true)
                    {
                        seen.TrySetResult(value);
                    }
                }
            }
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }
    }
}

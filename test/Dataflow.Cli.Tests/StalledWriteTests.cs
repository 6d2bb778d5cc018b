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

        // A batch far longer than the test: it is interrupted (as by Ctrl+C) once the stall has been seen and cleared.
        using var interrupt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = Cli.RunAsync(["run", "--count", "10000000", "--progress-interval", "0.05", "--db", Database], new CliConsole(output, error, isTerminal: false), interrupt.Token);

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

        // Writes go on once the lock is gone: the stall clears from the progress line.
        await output.SeenAfter("store write stalled", line => !line.Contains("stalled", StringComparison.Ordinal) && line.StartsWith("progress:", StringComparison.Ordinal)).WaitAsync(cancellationToken);
        await interrupt.CancelAsync();
        var exit = await run.WaitAsync(cancellationToken);
        Assert.That(exit, Is.EqualTo(130), output + error.ToString());
        var ended = int.Parse(System.Text.RegularExpressions.Regex.Match(output.ToString(), @"(\d+) runs in").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var stored = await StoredEventsAsync();
        Assert.That(stored.Count(e => e.Event is "complete" or "fail" or "cancel"), Is.EqualTo(ended + 1), "every run that ended has its final event stored, nothing lost while the store was stalled");
    }

    /// <summary>Collects the output and completes a wait once a line holding some text was written.</summary>
    private sealed class WatchingWriter : StringWriter
    {
        private readonly Lock _gate = new();
        private readonly List<(string Text, TaskCompletionSource<string> Seen)> _watches = [];
        private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Seen)> _matchers = [];

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

        /// <summary>Completes with the first line after one holding <paramref name="after"/> that matches <paramref name="match"/>.</summary>
        public Task<string> SeenAfter(string after, Func<string, bool> match)
        {
            lock (_gate)
            {
                var lines = ToString().Split('\n');
                var from = Array.FindIndex(lines, l => l.Contains(after, StringComparison.Ordinal));
                if (from >= 0 && lines.Skip(from + 1).FirstOrDefault(match) is { } line)
                {
                    return Task.FromResult(line);
                }

                var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
                _matchers.Add((match, done));
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

                foreach (var (match, seen) in _matchers)
                {
                    if (value is not null && match(value))
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

using System.Globalization;
using System.Text.Json;
using Dapper;
using Dataflow.Npgsql.Jobs;
using Npgsql;

namespace Dataflow.Npgsql.Tests.Jobs;

/// <summary>
/// Two worker processes share one job of 600 bundles, each a durable fan-out to five pieces; one worker is killed with
/// SIGKILL half-way, while its bundles wait for their pieces. The other takes over its leases and resumes its parents
/// with their children from PostgreSQL: every bundle ends Done with its pieces joined in item order, no piece that had
/// finished runs again, and a node runs again only if it was executing in the killed worker.
/// </summary>
[NonParallelizable]
public sealed class WorkerFanOutCrashTests
{
    private const int Bundles = 600;
    private const int InFlight = 64;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);

    [Test]
    [CancelAfter(240_000)]
    public async Task TwoWorkers_OneKilledWhileParentsWaitForChildren_TheOtherResumesThem_AndNoFinishedChildRunsAgain(CancellationToken cancellationToken)
    {
        var database = await PostgresSetUp.Server.CreateDatabaseAsync("fancrash", cancellationToken);
        var folder = Directory.CreateTempSubdirectory("dataflow-fan-workers-").FullName;
        try
        {
            await WorkerProcesses.SubmitAsync(database, "fan", Bundles, Guard, cancellationToken);

            var sides = Enumerable.Range(0, 2).Select(i => Path.Combine(folder, $"side{i}.txt")).ToArray();
            var workers = WorkerProcesses.StartWorkers(database, "fan", sides, InFlight);
            try
            {
                await WorkerProcesses.WaitReadyAsync(workers, Guard, cancellationToken);
                await using var queue = await JobQueue.OpenAsync(database, cancellationToken: cancellationToken);
                var progress = await WorkerProcesses.KillWhenHalfDoneAsync(queue, "fan", Bundles, workers[0], Guard, cancellationToken);

                // What had ended before the survivor could take anything over (the lease lasts 2 s): those pieces must not run again.
                var (waitingAtKill, finishedPieces) = await AtKillAsync(database, cancellationToken);
                TestContext.Out.WriteLine($"killed worker 0 at {progress.Done} done, {progress.Leased} leased, {waitingAtKill} parents waiting for children, {finishedPieces.Count} pieces finished");

                var summary = await workers[1].StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(Guard, cancellationToken);
                await workers[1].WaitForExitAsync(cancellationToken).WaitAsync(Guard, cancellationToken);
                TestContext.Out.WriteLine($"survivor: {summary}");

                var items = await queue.ItemsAsync("fan", cancellationToken).ToListAsync(cancellationToken);
                var killed = File.ReadAllLines(sides[0]).Select(Parse).ToList();
                var lastInKilled = killed.GroupBy(l => l.Key).ToDictionary(g => g.Key, g => g.Last().Node);
                var executions = sides.SelectMany(File.ReadAllLines).Select(Parse).GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
                var again = executions.Where(e => e.Value > 1).Select(e => e.Key).ToList();
                var results = items.Select(i => JsonDocument.Parse(i.Result!).RootElement).ToList();
                using (Assert.EnterMultipleScope())
                {
                    Assert.That(summary, Does.StartWith("done "));
                    Assert.That(waitingAtKill, Is.Positive, "the kill found parents waiting for their children");
                    Assert.That(items.Select(i => i.State).Distinct(), Is.EqualTo(new[] { JobItemState.Done }), "every bundle ended, Done");
                    Assert.That(results.Select(r => r.GetProperty("Id").GetInt32()).Order(), Is.EqualTo(Enumerable.Range(0, Bundles)));
                    Assert.That(results.Where(r => r.GetProperty("Sum").GetInt32() != (50 * r.GetProperty("Id").GetInt32()) + 10), Is.Empty, "every piece joined, in item order");
                    Assert.That(executions.Keys.Count(k => k.Node == "Piece"), Is.EqualTo(Bundles * 5), "every piece ran");
                    Assert.That(finishedPieces.Where(p => executions[(p, "Piece")] != 1), Is.Empty, "no piece that had finished ran again");
                    Assert.That(again, Has.Count.LessThanOrEqualTo(InFlight), "only nodes in flight at the kill ran again");
                    Assert.That(again.Where(e => executions[e] > 2), Is.Empty, "a node ran again at most once");
                    Assert.That(again.Where(e => lastInKilled.GetValueOrDefault(e.Key) != e.Node), Is.Empty, "a node that ran again was executing in the killed worker");
                }
            }
            finally
            {
                WorkerProcesses.KillAll(workers);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>How many parents wait for children, and the pieces ("id.index") whose runs have ended.</summary>
    private static async Task<(long Waiting, List<string> Finished)> AtKillAsync(string database, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(cancellationToken);
        var waiting = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM dataflow.durable_runs WHERE state = 'AwaitingChildren'");
        var nodes = await connection.QueryAsync<string>(
            "SELECT c.node FROM dataflow.durable_runs r JOIN dataflow.checkpoints c ON c.run_id = r.run_id AND c.seq = r.seq WHERE r.parent IS NOT NULL AND r.state IN ('Done', 'Failed', 'Cancelled')");
        return (waiting, [.. nodes.Select(n => JsonDocument.Parse(n).RootElement).Select(n => $"{n.GetProperty("Id").GetInt32()}.{n.GetProperty("Index").GetInt32()}")]);
    }

    private static (string Key, string Node) Parse(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return (line[..space], line[(space + 1)..]);
    }
}

using System.Globalization;
using System.Text.Json;
using Dataflow.Npgsql.Jobs;

namespace Dataflow.Npgsql.Tests.Jobs;

/// <summary>
/// Three worker processes share one job of 20,000 inputs through a 3-node graph whose nodes append a line per execution
/// to a side file per process; one is killed with SIGKILL half-way. The other two take over its leases after they expire
/// (2 s) and resume its runs: every input ends in exactly one final state with the right result; a node runs again only
/// if it was its run's last node in the killed worker (at most that worker's in-flight bound of them); the killed
/// worker's inputs were taken over.
/// </summary>
[NonParallelizable]
public sealed class WorkerCrashTests
{
    private const int Inputs = 20_000;
    private const int InFlight = 256;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);

    [Test]
    [CancelAfter(240_000)]
    public async Task ThreeWorkers_OneKilledHalfWay_EveryInputEndsOnce_AndItsLeasesAreTakenOver(CancellationToken cancellationToken)
    {
        var database = await PostgresSetUp.Server.CreateDatabaseAsync("crash", cancellationToken);
        var folder = Directory.CreateTempSubdirectory("dataflow-workers-").FullName;
        try
        {
            await WorkerProcesses.SubmitAsync(database, "crash", Inputs, Guard, cancellationToken);

            var sides = Enumerable.Range(0, 3).Select(i => Path.Combine(folder, $"side{i}.txt")).ToArray();
            var workers = WorkerProcesses.StartWorkers(database, "crash", sides, InFlight);
            try
            {
                await WorkerProcesses.WaitReadyAsync(workers, Guard, cancellationToken);
                await using var queue = await JobQueue.OpenAsync(database, cancellationToken: cancellationToken);
                var progress = await WorkerProcesses.KillWhenHalfDoneAsync(queue, "crash", Inputs, workers[0], Guard, cancellationToken);
                TestContext.Out.WriteLine($"killed worker 0 at {progress.Done} done, {progress.Leased} leased");

                var summaries = new List<string>();
                foreach (var survivor in workers.Skip(1))
                {
                    summaries.Add(await survivor.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(Guard, cancellationToken) ?? "(nothing)");
                    await survivor.WaitForExitAsync(cancellationToken).WaitAsync(Guard, cancellationToken);
                }

                TestContext.Out.WriteLine("survivors: " + string.Join(" | ", summaries));

                var items = await queue.ItemsAsync("crash", cancellationToken).ToListAsync(cancellationToken);
                var workerRows = await queue.WorkersAsync("crash", cancellationToken);
                var killed = File.ReadAllLines(sides[0]).Select(Parse).ToList();
                var lastInKilled = killed.GroupBy(l => l.Id).ToDictionary(g => g.Key, g => g.Last().Node);
                var executions = sides.SelectMany(File.ReadAllLines).Select(Parse).GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
                var again = executions.Where(e => e.Value > 1).Select(e => e.Key).ToList();
                var killedId = workerRows.Single(w => w.StoppedAt is null).Id;
                foreach (var w in workerRows)
                {
                    TestContext.Out.WriteLine($"worker {w.Id}: {w.Done} done, {w.TakenOver} taken over, started {w.StartedAt:O}");
                }

                using (Assert.EnterMultipleScope())
                {
                    Assert.That(summaries, Has.All.StartWith("done "));
                    Assert.That(items, Has.Count.EqualTo(Inputs), "one row per input");
                    Assert.That(items.Select(i => i.State).Distinct(), Is.EqualTo(new[] { JobItemState.Done }), "every input ended, Done");
                    Assert.That(items.Select(i => JsonDocument.Parse(i.Result!).RootElement), Has.All.Matches<JsonElement>(r => r.GetProperty("Sum").GetInt32() == 3 * r.GetProperty("Id").GetInt32()));
                    Assert.That(items.Select(i => JsonDocument.Parse(i.Result!).RootElement.GetProperty("Id").GetInt32()), Is.EqualTo(Enumerable.Range(0, Inputs)), "each input its own result");
                    Assert.That(items.Select(i => i.RunId), Is.Unique, "one run per input");
                    Assert.That(executions.Keys, Has.Count.EqualTo(3 * Inputs), "every node of every input ran");
                    Assert.That(again, Has.Count.LessThanOrEqualTo(InFlight), "only nodes in flight at the kill ran again");
                    Assert.That(again.Where(e => executions[e] > 2), Is.Empty, "a node ran again at most once");
                    Assert.That(again.Where(e => lastInKilled.GetValueOrDefault(e.Id) != e.Node), Is.Empty, "a node that ran again was its run's last in the killed worker");
                    Assert.That(workerRows.Where(w => w.Id != killedId).Sum(w => w.TakenOver), Is.GreaterThan(0), "the killed worker's leases were taken over");
                    Assert.That(items.Where(i => i.Worker == killedId).Count(), Is.GreaterThan(0), "the killed worker had finished some inputs");
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

    private static (int Id, string Node) Parse(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return (int.Parse(line[..space], CultureInfo.InvariantCulture), line[(space + 1)..]);
    }
}

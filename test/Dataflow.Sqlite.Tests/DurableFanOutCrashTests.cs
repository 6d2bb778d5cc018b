using System.Globalization;
using System.Text.Json;
using Dapper;
using Dataflow.Checkpoints;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

/// <summary>
/// A child process runs a durable batch of 300 parents that each fan out to 20 children (settle and fail-fast parents,
/// failing children, a nested fan-out and a subgraph), its nodes appending a line per execution to a side file, and is
/// killed with SIGKILL about half-way; another resumes it. Every parent and child must end in exactly one final state,
/// each join run once per parent, no child that had finished run again, and only the nodes executing at the kill run
/// again.
/// </summary>
public sealed class DurableFanOutCrashTests : StoreTestBase
{
    private const int Parents = 300;

    private const int Children = 20;

    /// <summary>At most this many nodes execute at the kill: the parent graph's admission bound (64) and the subgraph runs (30).</summary>
    private const int InFlight = 64 + 30;

    [Test]
    public async Task KilledDurableFanOutBatch_Resumed_EndsEveryParentAndChildOnce_AndRunsAgainOnlyTheNodesExecutingAtTheKill()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        var side = Path.Combine(Folder, "side.txt");
        var parents = Parents.ToString(CultureInfo.InvariantCulture);
        using (var child = StartChild("fanout", "run", DbPath, parents, side, "3200"))
        {
            // The child holds every node executing once 3,200 node executions (about half) are written.
            var line = await child.StandardOutput.ReadLineAsync().WaitAsync(Guard * 2);
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync().WaitAsync(Guard);
            Assert.That(line, Is.EqualTo("holding"), await child.StandardError.ReadToEndAsync());
        }

        var beforeKill = File.ReadAllLines(side).Select(Parse).ToList();
        var atKill = Latest();
        var finalBeforeKill = atKill.Where(c => c.Value.IsFinal).Select(c => c.Key).ToHashSet();
        var waitingAtKill = atKill.Values.Count(c => c.State == CheckpointState.AwaitingChildren);
        var childrenInFlightAtKill = atKill.Values.Count(c => c.Parent is not null && !c.IsFinal);
        var lastBeforeKill = beforeKill.GroupBy(l => l.Key).ToDictionary(g => g.Key, g => g.Last().Node);
        using (var resume = StartChild("fanout", "resume", DbPath, parents, side))
        {
            var summary = await resume.StandardOutput.ReadLineAsync().WaitAsync(Guard * 2);
            await resume.WaitForExitAsync().WaitAsync(Guard);
            Assert.That(summary, Does.StartWith("done "), await resume.StandardError.ReadToEndAsync());
            TestContext.Out.WriteLine($"{beforeKill.Count} node executions, {finalBeforeKill.Count} finished runs, {waitingAtKill} runs waiting for children and {childrenInFlightAtKill} children in flight at the kill; resume: {summary}");
        }

        var lines = File.ReadAllLines(side).Select(Parse).ToList();
        var afterKill = lines.Skip(beforeKill.Count).ToList();
        var executions = lines.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var again = executions.Where(e => e.Value > 1).Select(e => e.Key).ToList();
        var latest = Latest();
        var tops = latest.Values.Where(c => c.Parent is null).ToList();
        var keyOf = KeysOfRuns(latest);
        var finishedKeys = finalBeforeKill.Select(id => keyOf[id]).ToHashSet();
        var doneParents = tops.Where(c => c.State == CheckpointState.Done).Select(c => JsonDocument.Parse(c.Node).RootElement).ToList();
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(connection.ExecuteScalar<string>("PRAGMA integrity_check"), Is.EqualTo("ok"));
            Assert.That(waitingAtKill, Is.Positive, "the kill found parents waiting for children");
            Assert.That(childrenInFlightAtKill, Is.Positive, "the kill found children in flight");
            TestContext.Out.WriteLine($"{again.Count} node executions ran again");
            Assert.That(tops, Has.Count.EqualTo(Parents), "one run per parent");
            Assert.That(latest.Values.Where(c => !c.IsFinal).Select(c => $"{c.RunId} {c.State}"), Is.Empty, "every parent and child ended");
            Assert.That(FinalCheckpointsPerRun().Where(f => f.Value != 1).Select(f => f.Key), Is.Empty, "each in exactly one final state");
            Assert.That(
                tops.Select(c => (Parent(c), c.State)).OrderBy(t => t.Item1),
                Is.EqualTo(Enumerable.Range(0, Parents).Select(p => (p, p % 6 == 3 ? CheckpointState.Failed : CheckpointState.Done))),
                "fail-fast parents with a failing child failed, every other parent is done");
            Assert.That(doneParents.Select(d => d.GetProperty("Count").GetInt32()), Is.All.EqualTo(Children));
            Assert.That(doneParents.All(d => d.GetProperty("InOrder").GetBoolean()), Is.True, "results in item order");
            Assert.That(doneParents.Where(d => d.GetProperty("Failed").GetInt32() != (d.GetProperty("P").GetInt32() % 6 == 0 ? 1 : 0)).Select(d => d.GetProperty("P").GetInt32()), Is.Empty, "settle hands each failure to the join");
            Assert.That(doneParents.Where(d => d.GetProperty("Sum").GetInt64() != ExpectedSum(d.GetProperty("P").GetInt32())).Select(d => d.GetProperty("P").GetInt32()), Is.Empty, "every child's result reached the join, nested and subgraph ones too");
            Assert.That(doneParents.Where(d => !executions.ContainsKey(($"p{d.GetProperty("P").GetInt32()}", "join"))), Is.Empty, "each done parent's join ran");
            Assert.That(Enumerable.Range(0, Parents).Where(p => p % 6 == 3 && executions.ContainsKey(($"p{p}", "join"))), Is.Empty, "a failed fail-fast fan-out never joins");
            Assert.That(afterKill.Where(l => finishedKeys.Contains(l.Key)), Is.Empty, "no child or parent that had finished ran again");
            Assert.That(again, Has.Count.LessThanOrEqualTo(InFlight), "only nodes executing at the kill run again");
            Assert.That(again.Where(e => executions[e] > 2), Is.Empty, "a node runs again at most once");
            Assert.That(again.Where(e => lastBeforeKill.GetValueOrDefault(e.Key) != e.Node), Is.Empty, "a node that ran again was its run's last before the kill");
        }
    }

    private static (string Key, string Node) Parse(string line)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        return (line[..space], line[(space + 1)..]);
    }

    private static int Parent(RunCheckpoint top) => JsonDocument.Parse(top.Node).RootElement.GetProperty("P").GetInt32();

    /// <summary>What a done parent's join sums: each child's value (100p + i), the nested child's 1 + 2 + 3, the subgraph child's 7, less the failed child.</summary>
    private static long ExpectedSum(int p)
        => Enumerable.Range(0, Children)
            .Where(i => !(p % 6 == 0 && i == 7))
            .Sum(i => (long)((p % 10, i) switch { (0, 0) => 6, (5, 1) => 7, _ => (p * 100) + i }));

    /// <summary>The side file's key of each run: "p{P}" for a parent, "c{P}.{I}" for a child, "g…" and "s…" for a nested child and a subgraph run.</summary>
    private static Dictionary<string, string> KeysOfRuns(Dictionary<string, RunCheckpoint> latest)
    {
        var parents = latest.Values.Where(c => c.Parent is null).ToDictionary(c => c.RunId, Parent);
        var keys = parents.ToDictionary(p => p.Key, p => $"p{p.Value}");
        foreach (var id in latest.Keys.Where(id => id.Contains('/', StringComparison.Ordinal)))
        {
            var parts = id.Split('/');
            var p = parents[parts[0]];
            var i = int.Parse(parts[1], CultureInfo.InvariantCulture) - 1;
            keys[id] = parts.Length == 2 ? $"c{p}.{i}" : p % 10 == 0 ? $"g{p}.{i}.{int.Parse(parts[2], CultureInfo.InvariantCulture) - 1}" : $"s{p}.{i}";
        }

        return keys;
    }

    /// <summary>Each run's latest checkpoint, from the log (rows in the order written, checkpoints in order within a row).</summary>
    private Dictionary<string, RunCheckpoint> Latest()
        => AllCheckpoints().GroupBy(c => c.RunId).ToDictionary(g => g.Key, g => g.MaxBy(c => c.Sequence)!);

    private Dictionary<string, int> FinalCheckpointsPerRun()
        => AllCheckpoints().GroupBy(c => c.RunId).ToDictionary(g => g.Key, g => g.Count(c => c.IsFinal));

    private List<RunCheckpoint> AllCheckpoints()
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        return [.. connection.Query<byte[]>("SELECT body FROM checkpoint_log ORDER BY id").SelectMany(body => CheckpointLog.Decode(body, string.Empty, string.Empty))];
    }
}

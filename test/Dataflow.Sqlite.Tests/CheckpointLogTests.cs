using Dapper;
using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Graphs;
using Microsoft.Data.Sqlite;
using static Dataflow.Sqlite.Tests.DurableRunTests;

namespace Dataflow.Sqlite.Tests;

/// <summary>How checkpoints are stored since schema version 6 (a log of deflated batches), and the move from version 5.</summary>
public sealed class CheckpointLogTests : StoreTestBase
{
    [Test]
    public async Task StoreOfVersion5_WithARunWaitingAtAGate_IsMigrated_AndTheRunResumes()
    {
        // A waiting run, checkpointed; then the file is rewritten the way version 5 kept it (a row per checkpoint).
        var graph = Graph.Create<Ask>(new GraphOptions { Durable = true });
        var store = Open();
        string runId, gateId;
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints }))
        {
            var run = await engine.SubmitAsync(graph, new Ask("ship it", Tag: "v5"));
            gateId = (await run.WaitForGatesAsync().WaitAsync(Guard))[0].Id;
            runId = run.Id;
        }

        var before = store.RunCheckpoints(runId);
        await store.DisposeAsync();
        RewriteAsVersion5(before);

        var upgraded = Open();
        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = upgraded.Checkpoints });
        var result = await resumed.ResumeAsync(graph).WaitAsync(Guard);
        var again = result.Resumed.Single();
        var gates = await again.WaitForGatesAsync().WaitAsync(Guard);
        resumed.ResolveGate(gates[0].Id, true);
        await again.Completion.WaitAsync(Guard);
        await upgraded.Checkpoints.FlushAsync();
        var after = upgraded.RunCheckpoints(runId);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar("PRAGMA user_version"), Is.EqualTo(Schema.CurrentVersion));
            Assert.That(Scalar("SELECT count(*) FROM sqlite_master WHERE name IN ('checkpoints', 'durable_runs')"), Is.Zero, "version 5's tables are gone");
            Assert.That(again.Id, Is.EqualTo(runId));
            Assert.That(gates.Select(g => g.Id), Is.EqualTo(new[] { gateId }));
            Assert.That(again.GetResult<Shipped>(), Is.EqualTo(new Shipped("ship it", true)), "the moved trace restored the recall");
            // Version 5 kept timestamps to the microsecond.
            Assert.That(after.Take(before.Count).Select(c => c with { Timestamp = default }), Is.EqualTo(before.Select(c => c with { Timestamp = default })), "the moved checkpoints read back as they were written");
            Assert.That(after.Zip(before).All(p => (p.First.Timestamp - p.Second.Timestamp).Duration() < TimeSpan.FromMilliseconds(1)), Is.True);
            Assert.That(after.Select(c => c.Sequence), Is.EqualTo(Enumerable.Range(0, after.Count)));
            Assert.That(after[^1].State, Is.EqualTo(CheckpointState.Done));
        }
    }

    [Test]
    public async Task WrittenBehind_EveryCheckpointOfEveryRunIsKept_AndRowsAreDeflated()
    {
        var store = Open();
        var graph = Graph.Create<Flaky>(new GraphOptions { Durable = true, MaxRunsInFlight = 64 });
        var ids = new List<string>();
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints, CheckpointCommit = CheckpointCommitMode.WriteBehind }))
        {
            var runs = new List<GraphRun>();
            for (var i = 0; i < 2000; i++)
            {
                runs.Add(await engine.SubmitAsync(graph, new Flaky("ok", i)));
            }

            await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
            ids.AddRange(runs.Select(r => r.Id));
        }

        await store.Checkpoints.FlushAsync();
        // A run's checkpoints are read from its bucket's rows; a sample of runs across the buckets stands for all.
        var lists = ids.Where((_, i) => i % 75 == 0 || i == ids.Count - 1).Select(store.RunCheckpoints).ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(lists.Select(l => string.Join(",", l.Select(c => c.Sequence))).Distinct(), Is.EqualTo(new[] { "0,1,2" }), "start, move, final: no gaps in any run");
            Assert.That(lists.All(l => l[^1].State == CheckpointState.Done), Is.True);
            Assert.That(Scalar("SELECT sum(checkpoints) FROM checkpoint_log"), Is.EqualTo(3 * ids.Count));
            Assert.That(Scalar("SELECT count(*) FROM checkpoint_log"), Is.LessThan(ids.Count / 10), "checkpoints are written many to a row");
            Assert.That(Scalar("SELECT count(*) FROM checkpoint_log WHERE substr(body, 1, 1) = '['"), Is.Zero, "bodies are deflated");
        }
    }

    /// <summary>Replaces the checkpoint log with version 5's tables holding <paramref name="checkpoints"/>, a row each.</summary>
    private void RewriteAsVersion5(IReadOnlyList<RunCheckpoint> checkpoints)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        var session = connection.ExecuteScalar<string>("SELECT id FROM sessions LIMIT 1");
        connection.Execute("""
            DROP TABLE checkpoint_log;
            CREATE TABLE checkpoints (
                run_id TEXT NOT NULL, seq INTEGER NOT NULL, session_id TEXT NOT NULL, graph TEXT NOT NULL, fingerprint TEXT NOT NULL,
                state TEXT NOT NULL, step INTEGER NOT NULL, node_type TEXT NOT NULL, node TEXT NOT NULL, trace TEXT, gates TEXT,
                gates_resolved INTEGER NOT NULL, gate_number INTEGER NOT NULL, iterations INTEGER NOT NULL, options TEXT, error TEXT,
                rerun_of TEXT, timestamp TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID;
            CREATE TABLE durable_runs (
                run_id TEXT PRIMARY KEY NOT NULL, graph TEXT NOT NULL, state TEXT NOT NULL, seq INTEGER NOT NULL, session_id TEXT NOT NULL,
                rerun_of TEXT, updated_at TEXT NOT NULL) WITHOUT ROWID;
            """);
        foreach (var c in checkpoints)
        {
            connection.Execute(
                "INSERT INTO checkpoints VALUES (@RunId, @Sequence, @Session, @Graph, @Fingerprint, @State, @Step, @NodeType, @Node, @Trace, @Gates, @GatesResolved, @GateNumber, @Iterations, @Options, @Error, @RerunOf, @Timestamp)",
                new
                {
                    c.RunId, c.Sequence, Session = session, c.Graph, c.Fingerprint, State = c.State.ToString(), c.Step, c.NodeType, c.Node, c.Trace, c.Gates,
                    c.GatesResolved, c.GateNumber, c.Iterations, c.Options, c.Error, c.RerunOf, Timestamp = HistoryQueries.Format(c.Timestamp),
                });
        }

        var last = checkpoints[^1];
        connection.Execute(
            "INSERT INTO durable_runs VALUES (@RunId, @Graph, @State, @Sequence, @Session, NULL, @Timestamp); PRAGMA user_version = 5;",
            new { last.RunId, last.Graph, State = last.State.ToString(), last.Sequence, Session = session, Timestamp = HistoryQueries.Format(last.Timestamp) });
    }
}

using System.Collections.Concurrent;
using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Sqlite.Tests;

/// <summary>Durable runs against a real store file: checkpoints, resume after a restart, rerun, and the errors.</summary>
public sealed class DurableRunTests : StoreTestBase
{
    [Test]
    public async Task DurableRun_RecordsACheckpointPerTransition_AndItsFinalState()
    {
        var store = Open();
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var graph = Graph.Create<Ask>(new GraphOptions { Durable = true });

        var run = await engine.SubmitAsync(graph, new Ask("plain", Tag: "t1"));
        var gates = await run.WaitForGatesAsync().WaitAsync(Guard);
        engine.ResolveGate(gates[0].Id, true);
        await run.Completion.WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();

        var checkpoints = store.RunCheckpoints(run.Id);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Done));
            Assert.That(run.Id, Does.Match("^d[0-9a-z]+-1$"), "a durable engine's ids carry the prefix its store reserved");
            Assert.That(checkpoints.Select(c => (c.State, c.NodeType, c.Step)), Is.EqualTo(new[]
            {
                (CheckpointState.Running, "Ask", 0),
                (CheckpointState.Running, "Approve", 1),
                (CheckpointState.Waiting, "Approve", 1),
                (CheckpointState.Running, "Approve", 1),
                (CheckpointState.Done, "Shipped", 2),
            }));
            Assert.That(checkpoints.Select(c => c.Sequence), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
            Assert.That(checkpoints[2].Gates, Is.EqualTo($"[\"{run.Id}.0\"]"));
            Assert.That(checkpoints[3].GatesResolved, Is.True);
            Assert.That(checkpoints[3].Node, Does.Contain("\"Approved\":true"));
            Assert.That(checkpoints[1].Trace, Does.Contain("\"t\":\"Ask\""), "the start node is kept for the recall");
        }
    }

    [Test]
    public async Task RunWaitingAtAGate_SurvivesARestart_AndResumesWhenTheGateIsResolvedAfterIt()
    {
        var graph = Graph.Create<Ask>(new GraphOptions { Durable = true });
        string runId;
        string gateId;
        var first = Open();
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = first.Checkpoints }))
        {
            var run = await engine.SubmitAsync(graph, new Ask("ship it", Tag: "t2"));
            var gates = await run.WaitForGatesAsync().WaitAsync(Guard);
            (runId, gateId) = (run.Id, gates[0].Id);

            // Shutting down cancels the waiting run, but only the engine's shutdown did: it stays resumable.
        }

        await first.DisposeAsync();

        var second = Open();
        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = second.Checkpoints });
        var result = await resumed.ResumeAsync(graph).WaitAsync(Guard);
        var again = result.Resumed.Single();
        var gatesAgain = await again.WaitForGatesAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(again.Id, Is.EqualTo(runId));
            Assert.That(gatesAgain.Select(g => g.Id), Is.EqualTo(new[] { gateId }));
            Assert.That(resumed.ResolveGate(gateId, true), Is.True);
        }

        await again.Completion.WaitAsync(Guard);
        Assert.That(again.GetResult<Shipped>(), Is.EqualTo(new Shipped("ship it", true)), "the recall of the start node was restored");
    }

    [Test]
    public async Task Resume_WithAGraphWhoseNodeTypesChanged_IsRefused_SayingWhatChanged()
    {
        var graph = Graph.Create<Ask>(new GraphOptions { Durable = true });
        var first = Open();
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = first.Checkpoints }))
        {
            var run = await engine.SubmitAsync(graph, new Ask("x", Tag: "t3"));
            await run.WaitForGatesAsync().WaitAsync(Guard);
        }

        await first.DisposeAsync();

        // As if Approve's gate had been a string when the run was checkpointed.
        Scalar("UPDATE checkpoint_graphs SET fingerprint = 'feedfeedfeedfeed', description = replace(description, 'Approve(Approved: Boolean', 'Approve(Approved: String')");
        Scalar("UPDATE checkpoint_log SET fingerprint = 'feedfeedfeedfeed'");

        var second = Open();
        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = second.Checkpoints });
        var error = Assert.ThrowsAsync<GraphChangedException>(() => resumed.ResumeAsync(graph));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error!.Message, Does.Contain("node type 'Approve' changed").And.Contain("Approved: String").And.Contain("Approved: Boolean"));
            Assert.That(error.Changes, Has.Count.EqualTo(1));
            Assert.That(resumed.Active(), Is.Empty, "nothing was resumed");
        }
    }

    [Test]
    public void DurableGraph_WithANodeThatCannotBeStored_IsRefused_NamingTheNodeAndMember()
    {
        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create<Unstorable>(new GraphOptions { Durable = true }));
        Assert.That(error!.Message, Does.Contain("Node 'Unstorable' cannot be checkpointed").And.Contain("'Callback'").And.Contain("delegate"));
        Assert.That(() => Graph.Create<Unstorable>(), Throws.Nothing, "without durability the node is fine");
    }

    [Test]
    public async Task Rerun_OfAnUnknownRun_IsRefused()
    {
        var store = Open();
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var error = Assert.ThrowsAsync<UnknownRunException>(() => engine.RerunAsync(Graph.Create<Flaky>(new GraphOptions { Durable = true }), "d99-7"));
        Assert.That(error!.Message, Does.Contain("'d99-7'"));
        Assert.That(error.RunId, Is.EqualTo("d99-7"));
    }

    [Test]
    public async Task StoreOfAnOlderSchema_OpenedReadOnly_HasNoCheckpoints_AndSaysSo()
    {
        await Open().DisposeAsync();
        DowngradeToVersion4();
        using var history = SessionHistory.Open(DbPath);
        var error = Assert.Throws<CheckpointsUnavailableException>(() => history.RunCheckpoints("d1-1"));
        Assert.That(error!.Message, Does.Contain("schema version 4").And.Contain("no checkpoint tables"));
    }

    [Test]
    public void DurableGraph_OnAnEngineWithoutAStore_IsRefused()
    {
        var engine = new GraphEngine();
        var error = Assert.Throws<InvalidOperationException>(() => engine.Submit(Graph.Create<Flaky>(new GraphOptions { Durable = true }), new Flaky("x", 0)));
        Assert.That(error!.Message, Does.Contain("GraphEngineOptions.Checkpoints"));
    }

    [Test]
    public async Task Rerun_FromTheFailingNode_GivesTheFreshResult_WithoutRunningEarlierNodesAgain()
    {
        var store = Open();
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var graph = Graph.Create<Flaky>(new GraphOptions { Durable = true });
        var tag = Guid.NewGuid().ToString("N");
        Flaky.FailuresLeft[tag] = 1;

        var failed = await engine.SubmitAsync(graph, new Flaky(tag, 20));
        await failed.Completion.WaitAsync(Guard);
        Assert.That(failed.State, Is.EqualTo(RunState.Failed));

        var rerun = await engine.RerunAsync(graph, failed.Id).WaitAsync(Guard);
        await rerun.Completion.WaitAsync(Guard);
        var fresh = await engine.SubmitAsync(graph, new Flaky(tag, 20));
        await fresh.Completion.WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rerun.State, Is.EqualTo(RunState.Done), rerun.Error);
            Assert.That(rerun.Result, Is.EqualTo(fresh.Result));
            Assert.That(rerun.Id, Is.Not.EqualTo(failed.Id));
            Assert.That(Flaky.Executions[(tag, "Flaky")], Is.EqualTo(2), "the start node ran for the first run and the fresh one, not for the rerun");
            Assert.That(Flaky.Executions[(tag, "Double")], Is.EqualTo(3), "the failing node ran again in the rerun");
            Assert.That(store.RunCheckpoints(rerun.Id)[0].RerunOf, Is.EqualTo(failed.Id));
        }
    }

    [Test]
    public async Task EnginesSharingAStore_GetDifferentRunIds()
    {
        var store = Open();
        await using var one = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        await using var two = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var graph = Graph.Create<Flaky>(new GraphOptions { Durable = true });
        var a = one.Submit(graph, new Flaky("ids", 1));
        var b = two.Submit(graph, new Flaky("ids", 1));
        await Task.WhenAll(a.Completion, b.Completion).WaitAsync(Guard);
        Assert.That(a.Id, Is.Not.EqualTo(b.Id));
        Assert.That(a.Id.Length, Is.LessThanOrEqualTo(6), "short to read");
    }

    public sealed record Ask(string What, string Tag) : INode<Approve>
    {
        public ValueTask<Approve> RunAsync(NodeContext context) => ValueTask.FromResult(new Approve(What));
    }

    public sealed record Approve(string What) : INode<Shipped>
    {
        [Gate("Ship?")]
        public bool Approved { get; set; }

        [Recall]
        public Ask? Asked { get; set; }

        public ValueTask<Shipped> RunAsync(NodeContext context) => ValueTask.FromResult(new Shipped(Asked!.What, Approved));
    }

    public sealed record Shipped(string What, bool Approved) : INode;

    public sealed record Unstorable(string Name) : INode<Shipped>
    {
        public Func<int>? Callback { get; init; }

        public ValueTask<Shipped> RunAsync(NodeContext context) => ValueTask.FromResult(new Shipped(Name, false));
    }

    public sealed record Flaky(string Tag, int Value) : INode<Double>
    {
        public static ConcurrentDictionary<string, int> FailuresLeft { get; } = new();

        public static ConcurrentDictionary<(string Tag, string Node), int> Executions { get; } = new();

        public ValueTask<Double> RunAsync(NodeContext context)
        {
            Executions.AddOrUpdate((Tag, "Flaky"), 1, (_, n) => n + 1);
            return ValueTask.FromResult(new Double(Tag, Value + 1));
        }
    }

    public sealed record Double(string Tag, int Value) : INode<Result>
    {
        public ValueTask<Result> RunAsync(NodeContext context)
        {
            Flaky.Executions.AddOrUpdate((Tag, "Double"), 1, (_, n) => n + 1);
            if (Flaky.FailuresLeft.TryGetValue(Tag, out var left) && left > 0 && Flaky.FailuresLeft.TryUpdate(Tag, left - 1, left))
            {
                throw new InvalidOperationException("flaky");
            }

            return ValueTask.FromResult(new Result(Value * 2));
        }
    }

    public sealed record Result(int Value) : INode;
}

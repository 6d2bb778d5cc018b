using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Graphs;

namespace Dataflow.Sqlite.Tests;

/// <summary>
/// Durable fan-outs and subgraphs against a real store file: the parent's wait and its children's checkpoints, a
/// parent waiting for children brought back by a new engine, a changed child graph, and rerun.
/// </summary>
public sealed class DurableFanOutTests : StoreTestBase
{
    private static readonly GraphOptions Durable = new() { Durable = true };

    [Test]
    public async Task DurableFanOut_JoinsInItemOrder_AndEveryChildCheckpointsUnderItsParent()
    {
        var store = Open();
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var key = Guid.NewGuid().ToString("N");
        var run = await engine.SubmitAsync(Graph.Create<Basket>(Durable), new Basket(key, Items: 5, FailEvery: 3));
        await run.Completion.WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();

        var receipt = run.GetResult<Receipt>();
        var parent = store.RunCheckpoints(run.Id);
        var children = receipt.ChildIds.Select(store.RunCheckpoints).ToList();
        var waiting = parent.Single(c => c.State == CheckpointState.AwaitingChildren);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(receipt.ChildIds, Is.EqualTo(Enumerable.Range(1, 5).Select(n => $"{run.Id}/{n}")));
            Assert.That(receipt.Indexes, Is.EqualTo(new[] { 0, 1, 3, 4 }), "results in item order");
            Assert.That(receipt.Failures, Is.EqualTo(new[] { "2: InvalidOperationException: item 2 is out of stock" }), "settle hands the failure to the join");
            Assert.That(parent.Select(c => (c.State, c.NodeType, c.Step)), Is.EqualTo(new[]
            {
                (CheckpointState.Running, "Basket", 0),
                (CheckpointState.AwaitingChildren, "Basket", 0),
                (CheckpointState.Running, "Tally", 1),
                (CheckpointState.Done, "Receipt", 2),
            }));
            Assert.That(waiting.Children, Does.StartWith("{\"policy\":\"Settle\",\"max\":2,\"first\":1,\"items\":[{\"t\":\"Item\",\"v\":{"));
            Assert.That(waiting.ChildNumber, Is.EqualTo(5), "a number reserved for each item");
            Assert.That(children.Select(c => c[^1].State), Is.EqualTo(new[] { CheckpointState.Done, CheckpointState.Done, CheckpointState.Failed, CheckpointState.Done, CheckpointState.Done }));
            Assert.That(children.SelectMany(c => c).Select(c => c.Parent).Distinct(), Is.EqualTo(new[] { run.Id }), "every child checkpoint links to the parent");
            Assert.That(children.Select(c => c.Count(x => x.IsFinal)), Is.All.EqualTo(1));
            Assert.That(children[2][^1].Error, Is.EqualTo("InvalidOperationException: item 2 is out of stock"));
        }
    }

    [Test]
    public async Task ParentWaitingForChildren_SurvivesADisposedEngine_AndResumes_WithoutRunningFinishedChildrenAgain()
    {
        var key = Guid.NewGuid().ToString("N");
        var graph = Graph.Create<Basket>(Durable);

        // Round 1 of 3 (a fan-out inside a cycle): items 0 and 1 end, 2 and 3 hold, 4 and 5 wait behind the bound of 2.
        var hold = FanOutLog.HoldFrom(key, round: 1, from: 2, expected: 2);
        string runId;
        var first = Open();
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = first.Checkpoints }))
        {
            runId = (await engine.SubmitAsync(graph, new Basket(key, Items: 6, Rounds: 3))).Id;
            await hold.Reached.WaitAsync(Guard);
        }

        await first.DisposeAsync();
        hold.Release();

        var second = Open();
        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = second.Checkpoints });
        var result = await resumed.ResumeAsync(graph).WaitAsync(Guard);
        var again = result.Resumed.Single();
        await again.Completion.WaitAsync(Guard);
        await second.Checkpoints.FlushAsync();
        var receipt = again.GetResult<Receipt>();
        var round1 = Enumerable.Range(7, 6).Select(n => second.RunCheckpoints($"{runId}/{n}")).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(again.Id, Is.EqualTo(runId));
            Assert.That(again.State, Is.EqualTo(RunState.Done), again.Exception?.ToString());
            Assert.That(receipt.ChildIds, Is.EqualTo(Enumerable.Range(13, 6).Select(n => $"{runId}/{n}")), "the next round's children are numbered on after the restart");
            Assert.That(receipt.Indexes, Is.EqualTo(Enumerable.Range(0, 6)));
            Assert.That(Enumerable.Range(0, 6).Select(i => FanOutLog.Count(key, $"item 1.{i}")), Is.EqualTo(new[] { 1, 1, 2, 2, 1, 1 }), "finished children did not run again; those executing at the stop did; those held back by the bound started once");
            Assert.That(Enumerable.Range(0, 3).Select(r => FanOutLog.Count(key, $"tally {r}")), Is.EqualTo(new[] { 1, 1, 1 }), "each join ran once");
            Assert.That(Enumerable.Range(0, 3).Select(r => FanOutLog.Count(key, $"basket {r}")), Is.EqualTo(new[] { 1, 1, 1 }), "the waiting parent did not fan out again");
            Assert.That(round1.Select(c => c.Count(x => x.IsFinal)), Is.All.EqualTo(1), "every child ended once");
            Assert.That(round1.Select(c => c[^1].State), Is.All.EqualTo(CheckpointState.Done));
            Assert.That(round1.Take(4).Select(c => c.Count), Is.All.GreaterThan(1), "the children in flight kept their ids across the restart");
        }
    }

    [Test]
    public async Task SubgraphOfADurableParent_IsCheckpointed_AndResumedWithItsParent()
    {
        var key = Guid.NewGuid().ToString("N");
        var graph = Graph.Create<Letter>(Durable);
        var hold = FanOutLog.HoldFrom(key, round: 0, from: 0, expected: 1);
        string runId;
        var first = Open();
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = first.Checkpoints }))
        {
            runId = (await engine.SubmitAsync(graph, new Letter(key, "hello"))).Id;
            await hold.Reached.WaitAsync(Guard);
        }

        await first.DisposeAsync();
        var child = Open().RunCheckpoints($"{runId}/1");
        hold.Release();

        var second = Open();
        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = second.Checkpoints });
        var again = (await resumed.ResumeAsync(graph).WaitAsync(Guard)).Resumed.Single();
        await again.Completion.WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(again.GetResult<Posted>(), Is.EqualTo(new Posted(new Spelled("HELLO"))));
            Assert.That(child.Select(c => (c.Graph, c.Parent, c.State)), Is.EqualTo(new[] { (typeof(Spell).FullName, runId, CheckpointState.Running) }), "the child run is checkpointed under its own graph, linked to its parent");
            Assert.That(FanOutLog.Count(key, "spell"), Is.EqualTo(2), "the child node executing at the stop ran again, once");
        }
    }

    [Test]
    public async Task Resume_WithAChangedChildGraph_IsRefused_NamingWhatChanged()
    {
        var key = Guid.NewGuid().ToString("N");
        var graph = Graph.Create<Letter>(Durable);
        var hold = FanOutLog.HoldFrom(key, round: 0, from: 0, expected: 1);
        var first = Open();
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = first.Checkpoints }))
        {
            await engine.SubmitAsync(graph, new Letter(key, "hello"));
            await hold.Reached.WaitAsync(Guard);
        }

        await first.DisposeAsync();
        hold.Release();

        // As if the subgraph's start node had held a number when the parent was checkpointed.
        Scalar($"UPDATE checkpoint_graphs SET fingerprint = 'feedfeedfeedfeed', description = replace(description, 'subgraph Spell: Spell(Key: String, Text: String)', 'subgraph Spell: Spell(Key: String, Text: Int32)') WHERE graph = '{typeof(Letter).FullName}'");
        Scalar($"UPDATE checkpoint_log SET fingerprint = 'feedfeedfeedfeed' WHERE graph = '{typeof(Letter).FullName}'");

        var second = Open();
        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = second.Checkpoints });
        var error = Assert.ThrowsAsync<GraphChangedException>(() => resumed.ResumeAsync(graph));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error!.Changes, Is.EqualTo(new[] { "node type 'subgraph Spell: Spell' changed: it was subgraph Spell: Spell(Key: String, Text: Int32) -> Spelled, it is now subgraph Spell: Spell(Key: String, Text: String) -> Spelled" }));
            Assert.That(resumed.Active(), Is.Empty, "nothing was resumed");
        }
    }

    [Test]
    public async Task Rerun_OfAChild_IsRefused_AndTheParentRerunsFromItsFanOut_RunningEveryChildAgain()
    {
        var store = Open();
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var graph = Graph.Create<Basket>(Durable);
        var key = Guid.NewGuid().ToString("N");
        var run = await engine.SubmitAsync(graph, new Basket(key, Items: 3, Policy: FanOutPolicy.FailFast, FailEvery: 3));
        await run.Completion.WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();

        var failed = store.FailedRuns(typeof(Basket).FullName!);
        var child = Assert.ThrowsAsync<CheckpointException>(() => engine.RerunAsync(graph, $"{run.Id}/3"));
        var rerun = await engine.RerunAsync(graph, run.Id);
        await rerun.Completion.WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.Exception, Is.TypeOf<ChildRunFailedException>().With.Property(nameof(ChildRunFailedException.ChildRunId)).EqualTo($"{run.Id}/3"));
            Assert.That(child!.Message, Does.Contain($"is a child run of run '{run.Id}'").And.Contain("rerun run"));
            Assert.That(failed, Does.Contain(run.Id).And.Not.Contain($"{run.Id}/3"), "children are rerun with their parent, not listed on their own");
            Assert.That(rerun.Exception, Is.TypeOf<ChildRunFailedException>().With.Property(nameof(ChildRunFailedException.ChildRunId)).EqualTo($"{rerun.Id}/3"), "a new run, with children of its own");
            Assert.That(FanOutLog.Count(key, "basket 0"), Is.EqualTo(2), "the rerun starts at the fan-out node");
            Assert.That(FanOutLog.Count(key, "item 0.2"), Is.EqualTo(2), "every child ran again");
            Assert.That(store.RunCheckpoints(rerun.Id)[0].RerunOf, Is.EqualTo(run.Id));
        }
    }

    [Test]
    public async Task DurableFanOut_WithAJoinFunction_FailsTheParent_SayingToUseTheConstructor()
    {
        var store = Open();
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var key = Guid.NewGuid().ToString("N");
        var run = await engine.SubmitAsync(Graph.Create<Hasty>(Durable), new Hasty(key));
        await run.Completion.WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Failed));
            Assert.That(run.Exception, Is.TypeOf<NodeContractException>().With.Message.EqualTo("Node 'Hasty' of a durable graph returned a fan-out with a join function, which a checkpoint cannot hold; return it without the function, so that its join is made by the constructor of 'Tally'."));
            Assert.That(FanOutLog.Count(key, "item 0.0"), Is.Zero, "no child started");
        }
    }

    [Test]
    public async Task FailFastParent_WhoseChildHadFailedBeforeTheCrash_FailsOnResume_AndItsUnfinishedChildrenAreRecordedCancelled()
    {
        var key = Guid.NewGuid().ToString("N");
        var graph = Graph.Create<Basket>(Durable);
        var hold = FanOutLog.HoldFrom(key, round: 0, from: 0, expected: 2);
        string runId;
        var first = Open();
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = first.Checkpoints }))
        {
            runId = (await engine.SubmitAsync(graph, new Basket(key, Items: 4, Policy: FanOutPolicy.FailFast))).Id;
            await hold.Reached.WaitAsync(Guard);
        }

        // As if the process had died just after child 1 failed, before its sibling was cancelled: its failure is committed.
        var child1 = first.RunCheckpoints($"{runId}/1")[^1];
        await first.Checkpoints.SaveAsync(child1 with { Sequence = child1.Sequence + 1, State = CheckpointState.Failed, Error = "InvalidOperationException: boom" }, CheckpointCommitMode.GroupCommit);
        await first.DisposeAsync();
        hold.Release();

        var second = Open();
        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = second.Checkpoints });
        var again = (await resumed.ResumeAsync(graph).WaitAsync(Guard)).Resumed.Single();
        await again.Completion.WaitAsync(Guard);
        await second.Checkpoints.FlushAsync();
        var error = again.Exception as ChildRunFailedException;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(again.State, Is.EqualTo(RunState.Failed));
            Assert.That(error?.ChildRunId, Is.EqualTo($"{runId}/1"));
            Assert.That(error?.InnerException, Is.TypeOf<RecordedFailureException>().With.Message.EqualTo("boom").And.Property(nameof(RecordedFailureException.RecordedType)).EqualTo("InvalidOperationException"));
            Assert.That(second.RunCheckpoints($"{runId}/2")[^1].State, Is.EqualTo(CheckpointState.Cancelled), "the unfinished sibling is recorded cancelled");
            Assert.That(second.RunCheckpoints($"{runId}/3"), Is.Empty, "children held back by the bound never start");
            Assert.That(FanOutLog.Count(key, "item 0.1"), Is.EqualTo(1), "the unfinished sibling was not run again");
            Assert.That(FanOutLog.Count(key, "tally 0"), Is.Zero, "a failed fail-fast fan-out does not join");
            Assert.That((await second.Checkpoints.LoadResumableAsync(typeof(Basket).FullName!)).Unfinished, Is.Empty);
        }
    }
}

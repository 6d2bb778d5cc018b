using System.Collections.Concurrent;
using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Npgsql.Tests.Contract;

/// <summary>
/// What every checkpoint store promises the engine, run against each backend (the subclasses below): a checkpoint per
/// transition in order, committed before the run moves on; runs resumed in another store instance (another process)
/// with their ids and gate ids; finished runs counted and never resumed; unique run id prefixes; failed runs listed for
/// rerun; a changed graph refused with what changed.
/// </summary>
public abstract class CheckpointContractTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    protected StoreBackend Backend { get; set; } = null!;

    /// <summary>A graph's identity in the store: its start node type's full name.</summary>
    private static string Id(Graph graph) => graph.Start.FullName!;

    [Test]
    public async Task DurableRun_RecordsACheckpointPerTransition_AndItsFinalState()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var graph = Graph.Create<Ask>(new GraphOptions { Durable = true });

        var run = await engine.SubmitAsync(graph, new Ask("plain", Tag: "t1"));
        var gates = await run.WaitForGatesAsync().WaitAsync(Guard);
        engine.ResolveGate(gates[0].Id, true);
        await run.Completion.WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();

        var checkpoints = await store.RunCheckpointsAsync(run.Id);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Done));
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
            Assert.That(checkpoints[1].Trace, Does.Contain("\"t\":\"Ask\""));
            Assert.That(checkpoints.All(c => c.Graph == Id(graph) && c.Fingerprint == checkpoints[0].Fingerprint), Is.True);
            Assert.That(await store.Checkpoints.LoadRunAsync(run.Id), Is.EqualTo(checkpoints), "the seam and the store's own read agree");
            Assert.That(checkpoints[^1].Timestamp, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
        }
    }

    [Test]
    public async Task RunWaitingAtAGate_ResumesInAnotherStoreInstance_WithItsIdAndGateIds()
    {
        var location = await Backend.NewLocationAsync();
        var graph = Graph.Create<Ask>(new GraphOptions { Durable = true });
        string runId;
        string gateId;
        string doneId;
        await using (var first = await Backend.OpenAsync(location))
        {
            await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = first.Checkpoints });
            var done = await engine.SubmitAsync(graph, new Ask("done already", Tag: "t2"));
            engine.ResolveGate((await done.WaitForGatesAsync().WaitAsync(Guard))[0].Id, false);
            await done.Completion.WaitAsync(Guard);
            doneId = done.Id;
            var run = await engine.SubmitAsync(graph, new Ask("ship it", Tag: "t2"));
            gateId = (await run.WaitForGatesAsync().WaitAsync(Guard))[0].Id;
            runId = run.Id;

            // Disposing the engine stops the waiting run, but only because of the shutdown: it stays resumable.
        }

        await using var second = await Backend.OpenAsync(location);
        var stored = await second.Checkpoints.LoadResumableAsync(Id(graph));
        Assert.That(stored.Unfinished.Select(c => (c.RunId, c.State)), Is.EqualTo(new[] { (runId, CheckpointState.Waiting) }));
        Assert.That(stored.Finished, Is.EqualTo(1));

        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = second.Checkpoints });
        var result = await resumed.ResumeAsync(graph).WaitAsync(Guard);
        var again = result.Resumed.Single();
        var gatesAgain = await again.WaitForGatesAsync().WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.FinishedEarlier, Is.EqualTo(1));
            Assert.That(again.Id, Is.EqualTo(runId));
            Assert.That(again.Id, Is.Not.EqualTo(doneId));
            Assert.That(gatesAgain.Select(g => g.Id), Is.EqualTo(new[] { gateId }));
        }

        resumed.ResolveGate(gateId, true);
        await again.Completion.WaitAsync(Guard);
        Assert.That(again.GetResult<Shipped>(), Is.EqualTo(new Shipped("ship it", true)), "the recalled start node was restored");
        await second.Checkpoints.FlushAsync();
        Assert.That((await second.Checkpoints.LoadResumableAsync(Id(graph))).Unfinished, Is.Empty);
    }

    [Test]
    public async Task ParentWaitingForChildrenAtGates_ResumesInAnotherStoreInstance_AndJoinsOnceTheyAreResolved()
    {
        var location = await Backend.NewLocationAsync();
        var graph = Graph.Create<Poll>(new GraphOptions { Durable = true });
        var tag = Guid.NewGuid().ToString("N");
        string runId;
        var gateIds = new List<string>();
        await using (var first = await Backend.OpenAsync(location))
        {
            await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = first.Checkpoints });
            var arrived = Voter.Arrived(tag, 3);
            runId = (await engine.SubmitAsync(graph, new Poll(tag, 3))).Id;
            await arrived.WaitAsync(Guard);
            foreach (var child in Enumerable.Range(1, 3).Select(n => engine.Get($"{runId}/{n}")!))
            {
                gateIds.Add((await child.WaitForGatesAsync().WaitAsync(Guard)).Single().Id);
            }

            // The first child is answered and ends; the parent still waits for the other two when the engine stops.
            engine.ResolveGate(gateIds[0], true);
            await engine.Get($"{runId}/1")!.Completion.WaitAsync(Guard);
        }

        await using var second = await Backend.OpenAsync(location);
        var stored = await second.Checkpoints.LoadResumableAsync(Id(graph));
        Assert.That(stored.Unfinished.Select(c => (c.RunId, c.State, c.Parent)), Is.EqualTo(new[]
        {
            (runId, CheckpointState.AwaitingChildren, (string?)null),
            ($"{runId}/2", CheckpointState.Waiting, runId),
            ($"{runId}/3", CheckpointState.Waiting, runId),
        }));

        await using var resumed = new GraphEngine(new GraphEngineOptions { Checkpoints = second.Checkpoints });
        var childNamed = Assert.ThrowsAsync<ArgumentException>(() => resumed.ResumeAsync(graph, [runId, $"{runId}/2"]));
        Assert.That(childNamed!.Message, Does.StartWith($"Run '{runId}/2' is a child of run '{runId}': a child is resumed by its parent"));
        Assert.That(resumed.Get(runId), Is.Null, "a refused resume resumed nothing");

        // The named-runs resume, as a worker resumes the runs of the queue items it took over.
        var again = (await resumed.ResumeAsync(graph, [runId]).WaitAsync(Guard)).Resumed.Single();
        var waitingAgain = new List<string>();
        foreach (var child in new[] { 2, 3 }.Select(n => resumed.Get($"{runId}/{n}")!))
        {
            waitingAgain.Add((await child.WaitForGatesAsync().WaitAsync(Guard)).Single().Id);
        }

        Assert.That(waitingAgain, Is.EqualTo(gateIds.Skip(1)), "the children wait again at the same gates");
        resumed.ResolveGate(gateIds[1], false);
        resumed.ResolveGate(gateIds[2], true);
        await again.Completion.WaitAsync(Guard);
        await second.Checkpoints.FlushAsync();
        var final = await second.Checkpoints.LoadLatestAsync([runId, $"{runId}/1", $"{runId}/2", $"{runId}/3"]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(again.Id, Is.EqualTo(runId));
            Assert.That(again.GetResult<Tallied>().Yes, Is.EqualTo(new[] { true, false, true }), "the finished child's result came from its checkpoint, in item order");
            Assert.That(Voter.Runs(tag), Is.EqualTo(3), "no child node that had run ran again");
            Assert.That(final.Select(c => c.State), Is.All.EqualTo(CheckpointState.Done));
            Assert.That((await second.Checkpoints.LoadResumableAsync(Id(graph))).Unfinished, Is.Empty);
        }
    }

    [Test]
    public async Task CheckpointsThatStopBeingWritten_FailTheRunWaitingForItsCommit_WithTheStoresError()
    {
        var location = await Backend.NewLocationAsync();
        await using var store = await Backend.OpenAsync(location);
        var tag = Guid.NewGuid().ToString("N");
        var release = Hold.Gate(tag);
        string runId;
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints }))
        {
            engine.Events.AddSink(new Dataflow.Events.StoreEventSink(store.Entries));
            var run = await engine.SubmitAsync(Graph.Create<Hold>(new GraphOptions { Durable = true }), new Hold(tag), new RunOptions { Policy = Dataflow.Events.OutputPolicy.Normal });
            runId = run.Id;
            await Hold.Entered(tag).WaitAsync(Guard);

            // The start checkpoint is committed; the next one cannot be: its table is gone.
            await store.Checkpoints.FlushAsync().WaitAsync(Guard);
            await Backend.DropCheckpointTableAsync(location);
            release.SetResult();

            await run.Completion.WaitAsync(Guard);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(run.State, Is.EqualTo(RunState.Failed));
                Assert.That(run.Exception, Is.TypeOf(Backend.StoreError));
                Assert.That(run.Exception!.Message, Does.StartWith("The checkpoints of").And.Contain("stopped being written after an error:"));
                Assert.That(run.Result, Is.Null, "the node after the failed checkpoint never ran");
            }
        }

        await store.FlushAsync().WaitAsync(Guard);
        var contents = (await store.SessionEntriesAsync(store.SessionId)).Select(e => e.Content).ToList();
        Assert.That(contents, Has.Some.StartsWith($"{runId} could not record its final checkpoint: StoreException: The checkpoints of"));
    }

    [Test]
    public async Task RunIdPrefixes_AreUniqueAcrossStoreInstancesOfOneDatabase()
    {
        var location = await Backend.NewLocationAsync();
        await using var one = await Backend.OpenAsync(location);
        await using var two = await Backend.OpenAsync(location);
        var prefixes = new[] { one.Checkpoints.ReserveRunIdPrefix(), two.Checkpoints.ReserveRunIdPrefix(), one.Checkpoints.ReserveRunIdPrefix() };
        Assert.That(prefixes, Is.Unique);
        Assert.That(prefixes, Has.All.Match("^[a-z][0-9a-z]{1,5}$"), "letters and digits, short to read");
    }

    [Test]
    public async Task WriteBehind_IsCommittedOnFlush_AndKeepsEachRunsLatestCheckpoint()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints, CheckpointCommit = CheckpointCommitMode.WriteBehind });
        var graph = Graph.Create<Step>(new GraphOptions { Durable = true });
        var runs = new List<GraphRun>();
        for (var i = 0; i < 200; i++)
        {
            runs.Add(await engine.SubmitAsync(graph, new Step("wb", i)));
        }

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();

        var stored = await store.Checkpoints.LoadResumableAsync(Id(graph));
        Assert.That(stored.Unfinished, Is.Empty);
        Assert.That(stored.Finished, Is.EqualTo(200));
        foreach (var run in runs.Take(10))
        {
            var last = (await store.RunCheckpointsAsync(run.Id))[^1];
            Assert.That((last.State, last.NodeType, last.Node), Is.EqualTo((CheckpointState.Done, "Stepped", $"{{\"Value\":{run.GetResult<Stepped>().Value}}}")));
        }
    }

    [Test]
    public async Task FailedRuns_AreListedForRerun_AndARerunIsLinkedToItsRun()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var graph = Graph.Create<Step>(new GraphOptions { Durable = true });
        var tag = "fail-" + Guid.NewGuid().ToString("N");
        Step.FailuresLeft[tag] = 1;
        var failed = await engine.SubmitAsync(graph, new Step(tag, 20));
        var fine = await engine.SubmitAsync(graph, new Step(tag + "-fine", 1));
        await Task.WhenAll(failed.Completion, fine.Completion).WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();

        Assert.That(await store.FailedRunsAsync(Id(graph)), Is.EqualTo(new[] { failed.Id }));
        var rerun = await engine.RerunAsync(graph, failed.Id);
        await rerun.Completion.WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failed.State, Is.EqualTo(RunState.Failed));
            Assert.That(rerun.GetResult<Stepped>(), Is.EqualTo(new Stepped(42)));
            Assert.That(Step.Executions[(tag, "Step")], Is.EqualTo(1), "the node before the failing one did not run again");
            Assert.That((await store.RunCheckpointsAsync(rerun.Id))[0].RerunOf, Is.EqualTo(failed.Id));
            Assert.That(await store.FailedRunsAsync(Id(graph)), Is.Empty, "a rerun run is not listed again");
        }
    }

    [Test]
    public async Task ResumeWithAChangedGraph_IsRefused_SayingWhatChanged()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        var changed = new RunCheckpoint("x-1", 0, typeof(Ask).FullName!, "0000", CheckpointState.Running, 0, "Ask", "{\"What\":\"a\",\"Tag\":\"b\"}", DateTimeOffset.UtcNow);
        await store.Checkpoints.SaveGraphAsync(changed.Graph, "0000", "Ask: What, Tag, Extra -> Approve");
        await store.Checkpoints.SaveAsync(changed, CheckpointCommitMode.GroupCommit);

        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var error = Assert.ThrowsAsync<GraphChangedException>(() => engine.ResumeAsync(Graph.Create<Ask>(new GraphOptions { Durable = true })));
        Assert.That(error!.Message, Does.Contain("fingerprint 0000"));
        Assert.That(await store.Checkpoints.GraphDescriptionAsync("0000"), Is.EqualTo("Ask: What, Tag, Extra -> Approve"));
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

    /// <summary>A node that signals it has started, then waits until the test releases it.</summary>
    public sealed record Hold(string Tag) : INode<Moved>
    {
        private static readonly ConcurrentDictionary<string, (TaskCompletionSource Entered, TaskCompletionSource Release)> Signals = new();

        public static TaskCompletionSource Gate(string tag) => Signals.GetOrAdd(tag, _ => (NewSignal(), NewSignal())).Release;

        public static Task Entered(string tag) => Signals[tag].Entered.Task;

        public async ValueTask<Moved> RunAsync(NodeContext context)
        {
            var (entered, release) = Signals[Tag];
            entered.TrySetResult();
            await release.Task.WaitAsync(context.CancellationToken);
            return new Moved(Tag);
        }

        private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed record Moved(string Tag) : INode<Ended>
    {
        public ValueTask<Ended> RunAsync(NodeContext context) => ValueTask.FromResult(new Ended(Tag));
    }

    public sealed record Ended(string Tag) : INode;

    public sealed record Poll(string Tag, int Voters) : INode<FanOut<Voter, Vote, Tallied>>
    {
        public ValueTask<FanOut<Voter, Vote, Tallied>> RunAsync(NodeContext context)
            => ValueTask.FromResult(new FanOut<Voter, Vote, Tallied>(Enumerable.Range(0, Voters).Select(i => new Voter(Tag, i))) { MaxInFlight = Voters });
    }

    public sealed record Voter(string Tag, int Index) : INode<Ballot>
    {
        private static readonly ConcurrentDictionary<string, (int Count, TaskCompletionSource Reached, int Expected)> Arrivals = new();

        /// <summary>Completes once <paramref name="expected"/> voters of <paramref name="tag"/> ran.</summary>
        public static Task Arrived(string tag, int expected)
            => Arrivals.GetOrAdd(tag, _ => (0, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), expected)).Reached.Task;

        public static int Runs(string tag) => Arrivals.TryGetValue(tag, out var a) ? a.Count : 0;

        public ValueTask<Ballot> RunAsync(NodeContext context)
        {
            var now = Arrivals.AddOrUpdate(Tag, _ => (1, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), int.MaxValue), (_, a) => (a.Count + 1, a.Reached, a.Expected));
            if (now.Count >= now.Expected)
            {
                now.Reached.TrySetResult();
            }

            return ValueTask.FromResult(new Ballot(Index));
        }
    }

    public sealed record Ballot(int Index) : INode<Vote>
    {
        [Gate("Yes?")]
        public bool Yes { get; set; }

        public ValueTask<Vote> RunAsync(NodeContext context) => ValueTask.FromResult(new Vote(Index, Yes));
    }

    public sealed record Vote(int Index, bool Yes) : INode;

    public sealed record Tallied : INode
    {
        [System.Text.Json.Serialization.JsonConstructor]
        public Tallied(bool[] yes) => Yes = yes;

        public Tallied(FanOutResults<Vote> results)
            : this([.. results.Values.Select(v => v.Yes)])
        {
        }

        public bool[] Yes { get; }
    }

    public sealed record Step(string Tag, int Value) : INode<Twice>
    {
        public static ConcurrentDictionary<string, int> FailuresLeft { get; } = new();

        public static ConcurrentDictionary<(string Tag, string Node), int> Executions { get; } = new();

        public ValueTask<Twice> RunAsync(NodeContext context)
        {
            Executions.AddOrUpdate((Tag, "Step"), 1, (_, n) => n + 1);
            return ValueTask.FromResult(new Twice(Tag, Value + 1));
        }
    }

    public sealed record Twice(string Tag, int Value) : INode<Stepped>
    {
        public ValueTask<Stepped> RunAsync(NodeContext context)
        {
            if (Step.FailuresLeft.TryGetValue(Tag, out var left) && left > 0 && Step.FailuresLeft.TryUpdate(Tag, left - 1, left))
            {
                throw new InvalidOperationException("flaky");
            }

            return ValueTask.FromResult(new Stepped(Value * 2));
        }
    }

    public sealed record Stepped(int Value) : INode;
}

/// <summary>The checkpoint contract on SQLite: a file per test in a temp directory.</summary>
[TestFixture]
public sealed class SqliteCheckpointContractTests : CheckpointContractTests
{
    private string _directory = string.Empty;

    [OneTimeSetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "dataflow-checkpoints-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        Backend = new SqliteBackend(_directory);
    }

    [OneTimeTearDown]
    public void DeleteDirectory()
    {
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>The checkpoint contract on PostgreSQL: a database for the fixture, a schema per test.</summary>
[TestFixture]
public sealed class PostgresCheckpointContractTests : CheckpointContractTests
{
    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => Backend = new PostgresBackend(await PostgresSetUp.Server.CreateDatabaseAsync("checkpoints"));
}

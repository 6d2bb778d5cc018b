using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Tests.Events;
using NUnit.Framework;

namespace Dataflow.Tests.Inputs;

[TestFixture]
public sealed class GateTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Submits a run and returns once it waits at its gates: a run registers its gates and turns Waiting before
    /// it emits its gate events, so the gate events are the signal.
    /// </summary>
    private static async Task<GraphRun> SubmitAndWaitForGates(GraphEngine engine, INode start, int gates = 2)
    {
        var signal = new KindCountdownSink(EventKind.Gate, gates);
        var registration = engine.Events.AddSink(signal);
        var run = engine.Submit(Graph.Create(start.GetType()), start);
        await signal.Reached.WaitAsync(Guard);
        await registration.DisposeAsync();
        return run;
    }

    [Test]
    public async Task ReachingAGatedNode_RegistersOneGatePerInput_AndTheRunWaits()
    {
        await using var engine = new GraphEngine();
        var run = await SubmitAndWaitForGates(engine, new Deploy("api"));

        var gates = engine.PendingGatesForRun(run.Id);
        Assert.That(gates.Select(g => g.Id), Is.EqualTo(new[] { "g1.0", "g1.1" }));
        Assert.That(gates[0].Field, Is.EqualTo("Approved"));
        Assert.That(gates[0].Type, Is.EqualTo(typeof(bool)));
        Assert.That(gates[0].Description, Is.EqualTo("Deploy to prod?"));
        Assert.That(gates[0].NodeType, Is.EqualTo(typeof(Deploy)));
        Assert.That(gates[0].Display, Is.EqualTo("Approved: Boolean (\"Deploy to prod?\")"));
        Assert.That(gates[1].Display, Is.EqualTo("Approver: String"), "display without a description");
        Assert.That(engine.PendingGateCount, Is.EqualTo(2));
        Assert.That(engine.GetPendingGate("g1.1"), Is.SameAs(gates[1]));
        Assert.That(run.State, Is.EqualTo(RunState.Waiting));
        Assert.That(engine.Active(), Is.EqualTo(new[] { run }), "a waiting run counts as active");
        engine.Cancel(run.Id);
        await run.Completion.WaitAsync(Guard);
    }

    [Test]
    public async Task ResolvingEveryGate_ResumesTheRunWithTheValues()
    {
        await using var engine = new GraphEngine();
        var run = await SubmitAndWaitForGates(engine, new Deploy("api"));

        Assert.That(engine.ResolveGate("g1.0", true), Is.True);
        Assert.That(run.State, Is.EqualTo(RunState.Waiting), "one gate is still pending");
        Assert.That(engine.ResolveGate("g1.1", "ana"), Is.True);
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(run.Result, Is.EqualTo(new Deployed("api", true, "ana")));
        Assert.That(engine.PendingGateCount, Is.Zero);
        Assert.That(engine.ResolveGate("g1.0", true), Is.False, "already resolved");
        Assert.That(engine.ResolveGate("g9.9", true), Is.False, "unknown");
    }

    [Test]
    public async Task TwoGatesOfOneNode_ResolvedConcurrently_BothLand()
    {
        await using var engine = new GraphEngine();
        var run = await SubmitAndWaitForGates(engine, new Deploy("db"));

        var results = await Task.WhenAll(Task.Run(() => engine.ResolveGate("g1.1", "bo")), Task.Run(() => engine.ResolveGate("g1.0", false)));
        await run.Completion.WaitAsync(Guard);

        Assert.That(results, Is.EqualTo(new[] { true, true }));
        Assert.That(run.Result, Is.EqualTo(new Deployed("db", false, "bo")));
    }

    [Test]
    public async Task ValueOfTheWrongType_IsRefused_AndTheGateStaysPending()
    {
        await using var engine = new GraphEngine();
        var run = await SubmitAndWaitForGates(engine, new Deploy("api"));

        var e = Assert.Throws<ArgumentException>(() => engine.ResolveGate("g1.0", "yes"));
        var nullForBool = Assert.Throws<ArgumentException>(() => engine.ResolveGate("g1.0", null));

        Assert.That(e!.Message, Does.StartWith("Gate g1.0 (Approved: Boolean (\"Deploy to prod?\")) takes a Boolean, not a String; the gate is still pending."));
        Assert.That(nullForBool!.Message, Does.Contain("takes a Boolean, not null"));
        Assert.That(engine.GetPendingGate("g1.0"), Is.Not.Null);
        Assert.That(engine.ResolveGate("g1.1", null), Is.True, "null fits a string gate");
        engine.Cancel(run.Id);
        await run.Completion.WaitAsync(Guard);
    }

    [Test]
    public async Task CancellingAWaitingRun_CancelsItsGates()
    {
        await using var engine = new GraphEngine();
        var run = await SubmitAndWaitForGates(engine, new Deploy("api"));

        Assert.That(engine.Cancel(run.Id), Is.True);
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(engine.PendingGateCount, Is.Zero);
        Assert.That(engine.ResolveGate("g1.0", true), Is.False);
    }

    [Test]
    public async Task DisposeWithoutCancelling_CancelsARunThatReachesAGateMeanwhile()
    {
        var engine = new GraphEngine(new GraphEngineOptions { CancelRunsOnDispose = false });
        var entered = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var run = engine.Submit(Graph.Create<Prelude>(), new Prelude(entered, release));
        await entered.Task.WaitAsync(Guard);

        var disposing = engine.DisposeAsync().AsTask();
        release.SetResult();
        await disposing.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Cancelled), "nobody could ever resolve its gates");
        Assert.That(run.Trace.Select(n => n.GetType()), Is.EqualTo(new[] { typeof(Prelude), typeof(Deploy) }));
    }

    [Test]
    public async Task GateEvent_PassesEveryPolicyButSilent_ThroughASink()
    {
        var sink = new CollectingSink();
        var signal = new KindCountdownSink(EventKind.Gate, 2);
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(sink, new SinkOptions { Policy = OutputPolicy.Quiet });
            engine.Events.AddSink(signal);

            // One node slot: the silent run reaches its gates first, so the quiet run's gate events prove it got there.
            var graph = Graph.Create<Deploy>(new GraphOptions { MaxDegreeOfParallelism = 1 });
            var silent = engine.Submit(graph, new Deploy("web"), new RunOptions { Policy = OutputPolicy.Silent });
            var quiet = engine.Submit(graph, new Deploy("api"), new RunOptions { Policy = OutputPolicy.Quiet });
            await signal.Reached.WaitAsync(Guard);

            Assert.That(silent.State, Is.EqualTo(RunState.Waiting));
            Assert.That(engine.PendingGatesForRun(silent.Id), Has.Count.EqualTo(2));
        }

        var gates = sink.Events.Where(e => e.Kind == EventKind.Gate).ToList();
        Assert.That(gates.Select(e => e.Content), Is.EqualTo(new[]
        {
            "g2 waiting at gate g2.0: Approved: Boolean (\"Deploy to prod?\")",
            "g2 waiting at gate g2.1: Approver: String",
        }));
        Assert.That(gates[0].Metadata["gate_id"], Is.EqualTo("g2.0"));
        Assert.That(sink.Events.Where(e => e.RunId == "g1"), Is.Empty, "a Silent run emits no gate event");
    }

    [Test]
    public async Task ThousandWaitingRuns_DoNotStopOtherRuns()
    {
        await using var engine = new GraphEngine();
        var allWaiting = new KindCountdownSink(EventKind.Gate, 2_000);
        engine.Events.AddSink(allWaiting, new SinkOptions { Capacity = 4_096 });
        var gated = Graph.Create<Deploy>(new GraphOptions { MaxRunsInFlight = 16, MaxDegreeOfParallelism = 1 });
        var waiting = new List<GraphRun>();
        for (var i = 0; i < 1_000; i++)
        {
            waiting.Add(await engine.SubmitAsync(gated, new Deploy($"s{i}"), new RunOptions { Policy = OutputPolicy.Quiet }).AsTask().WaitAsync(Guard));
        }

        var others = Enumerable.Range(0, 100).Select(_ => engine.Submit(Graph.Create<StressStart>(), new StressStart(1))).ToList();
        await Task.WhenAll(others.Select(r => r.Completion)).WaitAsync(Guard);
        await allWaiting.Reached.WaitAsync(Guard);

        Assert.That(others.Select(r => r.State), Has.All.EqualTo(RunState.Done));
        Assert.That(waiting.Select(r => r.State), Has.All.EqualTo(RunState.Waiting));
        foreach (var run in waiting)
        {
            engine.ResolveGate(run.Id + ".0", true);
            engine.ResolveGate(run.Id + ".1", "ops");
        }

        await Task.WhenAll(waiting.Select(r => r.Completion)).WaitAsync(Guard);
        Assert.That(waiting.Select(r => r.State), Has.All.EqualTo(RunState.Done));
    }
}

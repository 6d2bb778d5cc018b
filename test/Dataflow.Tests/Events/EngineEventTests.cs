using Dataflow;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Events.Channels;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Events;

[TestFixture]
public sealed class EngineEventTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private static async Task<IReadOnlyList<GraphEvent>> RunAndCollect(OutputPolicy policy, Func<GraphEngine, IEnumerable<GraphRun>> submit)
    {
        var sink = new CollectingSink();
        var engine = new GraphEngine();
        engine.Events.AddSink(sink);
        var runs = submit(engine).ToList();
        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        await engine.DisposeAsync();
        return sink.Events;
    }

    [Test]
    public async Task FifteenConcurrentRunsAtNormal_EmitStartAndCompleteForEach()
    {
        var graph = Graph.Create<StressStart>();
        var events = await RunAndCollect(OutputPolicy.Normal, e => Enumerable.Range(0, 15).Select(_ => e.Submit(graph, new StressStart(10))));

        Assert.That(events.Count(e => e.Kind == EventKind.Start), Is.EqualTo(15));
        Assert.That(events.Count(e => e.Kind == EventKind.Complete), Is.EqualTo(15));
        Assert.That(events, Has.Count.GreaterThanOrEqualTo(30));
        Assert.That(events.Where(e => e.Kind == EventKind.Transition), Is.Empty, "Normal emits no transitions");
    }

    [Test]
    public async Task VerboseRun_EmitsEveryStepInOrder_WithContentAndMetadata()
    {
        var graph = Graph.Create<StressStart>();
        var events = await RunAndCollect(OutputPolicy.Verbose, e => [e.Submit(graph, new StressStart(1), new RunOptions { Policy = OutputPolicy.Verbose })]);

        Assert.That(events.Select(e => e.Content).Take(3), Is.EqualTo(new[] { "g1 started: StressStart { DelayMs = 1 }", "g1 StressStart -> Middle", "g1 Middle -> End" }));
        Assert.That(events[3].Content, Does.Match(@"^g1 done \(\d+\.\d+s\)$"));
        Assert.That(events.Select(e => e.Sequence), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
        Assert.That(events.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Start, EventKind.Transition, EventKind.Transition, EventKind.Complete }));
        var transition = events[1].Metadata;
        Assert.That(transition["type"], Is.EqualTo("lifecycle"));
        Assert.That(transition["event"], Is.EqualTo("transition"));
        Assert.That(transition["run_id"], Is.EqualTo("g1"));
        Assert.That(transition["from"], Is.EqualTo("StressStart"));
        Assert.That(transition["to"], Is.EqualTo("Middle"));
        Assert.That(events[3].Metadata["duration_ms"], Is.TypeOf<double>());
        Assert.That(events.Select(e => e.Timestamp), Is.Ordered);
    }

    [Test]
    public async Task FailingRunAtQuiet_EmitsItsFailEventOnly()
    {
        var events = await RunAndCollect(OutputPolicy.Quiet, e => [e.Submit(Graph.Create<Boom>(), new Boom("boom"), new RunOptions { Policy = OutputPolicy.Quiet })]);

        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(events[0].Kind, Is.EqualTo(EventKind.Fail));
        Assert.That(events[0].Content, Is.EqualTo("g1 failed: InvalidOperationException: boom"));
        Assert.That(events[0].Metadata["error"], Is.EqualTo("InvalidOperationException: boom"));
        Assert.That(events[0].Metadata["node"], Is.EqualTo("Boom"));
    }

    [Test]
    public async Task FifteenSuccessfulRunsAtQuiet_LeaveTheChannelBufferEmpty()
    {
        await using var router = new ChannelRouter();
        var channel = router.Register("graph", new OutputChannelOptions { Visible = false });
        var engine = new GraphEngine();
        router.Attach(engine.Events, "graph");
        var graph = Graph.Create<StressStart>();

        var runs = Enumerable.Range(0, 15).Select(_ => engine.Submit(graph, new StressStart(5), new RunOptions { Policy = OutputPolicy.Quiet })).ToList();
        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        await engine.DisposeAsync();

        Assert.That(runs.Select(r => r.State), Has.All.EqualTo(RunState.Done));
        Assert.That(channel.Buffer, Is.Empty);
        Assert.That(channel.Written, Is.Zero);
    }

    [Test]
    public async Task SilentRun_EmitsNothing_EvenWhenItFails()
    {
        var events = await RunAndCollect(OutputPolicy.Silent, e => [e.Submit(Graph.Create<Boom>(), new Boom("x"), new RunOptions { Policy = OutputPolicy.Silent })]);

        Assert.That(events, Is.Empty);
    }

    [Test]
    public async Task CancelledRun_EmitsStartThenCancel()
    {
        var sink = new CollectingSink();
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(sink);
            var entered = new TaskCompletionSource();
            var run = engine.Submit(Graph.Create<Gated>(), new Gated(entered, new TaskCompletionSource()));
            await entered.Task.WaitAsync(Guard);
            engine.Cancel(run.Id);
            await run.Completion.WaitAsync(Guard);
        }

        Assert.That(sink.Events.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Start, EventKind.Cancel }));
        Assert.That(sink.Events[1].Content, Is.EqualTo("g1 cancelled"));
    }

    [Test]
    public async Task EngineShutdown_DrainsSlowSinks()
    {
        var slow = new SlowSink(pauseEvery: 50);
        var engine = new GraphEngine();
        engine.Events.AddSink(slow, new SinkOptions { Capacity = 16 });
        var graph = Graph.Create<Counter>(new GraphOptions { MaxRunsInFlight = 4096 });
        var runs = Enumerable.Range(0, 200).Select(_ => engine.Submit(graph, new Counter(10), new RunOptions { Policy = OutputPolicy.Verbose })).ToList();

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        await engine.DisposeAsync().AsTask().WaitAsync(Guard);

        // Each run: start, ten transitions (nine to Counter, one to Finished), complete.
        Assert.That(slow.Count, Is.EqualTo(200 * 12));
        Assert.That(slow.OutOfOrder, Is.Zero);
    }
}

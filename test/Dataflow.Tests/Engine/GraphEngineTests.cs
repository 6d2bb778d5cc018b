using Dataflow;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Engine;

public sealed record WhereAmI(ThreadRecorder Recorder) : INode<End>
{
    public ValueTask<End> RunAsync(NodeContext context)
    {
        Recorder.Record(Thread.CurrentThread.IsThreadPoolThread);
        return ValueTask.FromResult(new End(context.RunId));
    }
}

[BlockingNode]
public sealed record BlockingWhereAmI(ThreadRecorder Recorder) : INode<End>
{
    public ValueTask<End> RunAsync(NodeContext context)
    {
        Recorder.Record(Thread.CurrentThread.IsThreadPoolThread);
        return ValueTask.FromResult(new End(context.RunId));
    }
}

public sealed class ThreadRecorder
{
    private int _pool;
    private int _other;

    public int PoolThreads => _pool;

    public int OtherThreads => _other;

    public void Record(bool poolThread) => Interlocked.Increment(ref poolThread ? ref _pool : ref _other);
}

public sealed record Narrow(Rendezvous Meeting) : INode<Wide>
{
    public ValueTask<Wide> RunAsync(NodeContext context) => ValueTask.FromResult(new Wide(Meeting));
}

public sealed record Wide(Rendezvous Meeting) : INode<End>
{
    public async ValueTask<End> RunAsync(NodeContext context)
    {
        await Meeting.ArriveAndWaitAsync(context.CancellationToken);
        return new End(context.RunId);
    }
}

/// <summary>Completes once a number of parties have arrived; each waits for all.</summary>
public sealed class Rendezvous(int parties)
{
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _arrived;

    public Task All => _all.Task;

    public Task ArriveAndWaitAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _arrived) == parties)
        {
            _all.TrySetResult();
        }

        return _all.Task.WaitAsync(cancellationToken);
    }
}

[TestFixture]
public sealed class GraphEngineTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Submit_FifteenStressRuns_AllDoneQuickly()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<StressStart>();

        var runs = Enumerable.Range(0, 15).Select(_ => engine.Submit(graph, new StressStart(10))).ToList();
        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(TimeSpan.FromSeconds(10));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs.Select(r => r.Id), Is.EqualTo(Enumerable.Range(1, 15).Select(i => $"g{i}")));
            foreach (var run in runs)
            {
                Assert.That(run.State, Is.EqualTo(RunState.Done), run.Id);
                Assert.That(run.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), run.Id);
                Assert.That(run.EndedAt, Is.Not.Null, run.Id);
                Assert.That(run.Result, Is.EqualTo(new End(run.Id)));
                Assert.That(run.Trace.Select(n => n.GetType()), Is.EqualTo(new[] { typeof(StressStart), typeof(Middle), typeof(End) }));
                Assert.That(run.NodeTimings.Select(t => t.Node), Is.EqualTo(new[] { "StressStart", "Middle" }));
                Assert.That(run.NodeTimings.Select(t => t.DurationMs), Has.All.GreaterThanOrEqualTo(5.0), "each node awaited a 10 ms delay; timers may fire a little early");
                Assert.That(run.NodeTimings.Select(t => t.End >= t.Start), Has.All.True);
                Assert.That(run.RssDeltaBytes, Is.TypeOf<long>());
            }

            Assert.That(engine.Active(), Is.Empty);
        }
    }

    [Test]
    public async Task Submit_TenThousandConcurrentRuns_NoneLostOrStuck()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 10_000 });
        var graph = Graph.Create<StressStart>(new GraphOptions { MaxDegreeOfParallelism = GraphOptions.Unbounded, MaxRunsInFlight = 10_000 });

        var runs = new List<GraphRun>(10_000);
        for (var i = 0; i < 10_000; i++)
        {
            runs.Add(engine.Submit(graph, new StressStart(10), new RunOptions { Policy = Dataflow.Events.OutputPolicy.Silent }));
        }

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);

        Assert.That(runs.Count(r => r.State == RunState.Done), Is.EqualTo(10_000));
        Assert.That(runs.Select(r => r.Id).Distinct().Count(), Is.EqualTo(10_000));
        Assert.That(engine.Active(), Is.Empty);
    }

    [Test]
    public async Task Cycles_ThousandLoopingRunsWithParallelismOne_NeverDeadlock()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Counter>(new GraphOptions { MaxDegreeOfParallelism = 1, MaxRunsInFlight = 8 });

        var submitting = Task.Run(async () =>
        {
            var list = new List<GraphRun>();
            for (var i = 0; i < 1000; i++)
            {
                list.Add(await engine.SubmitAsync(graph, new Counter(100), new RunOptions { Policy = Dataflow.Events.OutputPolicy.Silent }));
            }

            return list;
        });
        var runs = await submitting.WaitAsync(Guard);
        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);

        Assert.That(runs.Select(r => r.State), Has.All.EqualTo(RunState.Done));
        Assert.That(runs.Select(r => ((Finished)r.Result!).Count), Has.All.EqualTo(100));
        Assert.That(runs.Select(r => r.NodeTimings.Count), Has.All.EqualTo(100));
    }

    [Test]
    public async Task BlockingNodes_RunOffThePool_AndAsyncRunsKeepCompletingWhileTheyBlock()
    {
        const int blockers = 16;
        await using var engine = new GraphEngine();
        // Default options: a blocking node gets the graph's parallelism (64) in dedicated threads, started as needed.
        var blockingGraph = Graph.Create<BlockingWork>();
        using var release = new ManualResetEventSlim();
        using var entered = new CountdownEvent(blockers);
        var blocked = Enumerable.Range(0, blockers).Select(_ => engine.Submit(blockingGraph, new BlockingWork(release, entered))).ToList();
        try
        {
            Assert.That(await Task.Run(() => entered.Wait(Guard)), Is.True, "every blocking node should hold its own thread at once");

            // Every blocking node now holds a thread; async runs must still complete.
            var asyncGraph = Graph.Create<StressStart>();
            var asyncRuns = Enumerable.Range(0, 200).Select(_ => engine.Submit(asyncGraph, new StressStart(5))).ToList();
            await Task.WhenAll(asyncRuns.Select(r => r.Completion)).WaitAsync(Guard);

            Assert.That(asyncRuns.Select(r => r.State), Has.All.EqualTo(RunState.Done));
            Assert.That(blocked.Select(r => r.State), Has.All.EqualTo(RunState.Running), "the blocking nodes were still blocked");
        }
        finally
        {
            release.Set();
        }

        await Task.WhenAll(blocked.Select(r => r.Completion)).WaitAsync(Guard);
        Assert.That(blocked.Select(r => r.State), Has.All.EqualTo(RunState.Done));
    }

    [Test]
    public async Task BlockingNodes_ExecuteOnDedicatedThreads_AsyncNodesOnThePool()
    {
        await using var engine = new GraphEngine();
        var recorder = new ThreadRecorder();
        var blocking = engine.Submit(Graph.Create<BlockingWhereAmI>(), new BlockingWhereAmI(recorder));
        await blocking.Completion.WaitAsync(Guard);
        var plain = engine.Submit(Graph.Create<WhereAmI>(), new WhereAmI(recorder));
        await plain.Completion.WaitAsync(Guard);

        Assert.That(recorder.OtherThreads, Is.EqualTo(1), "the blocking node ran on a dedicated thread");
        Assert.That(recorder.PoolThreads, Is.EqualTo(1), "the async node ran on the pool");
    }

    [Test]
    public async Task NodeThatThrows_FailsItsRunOnly_KeepingTheTrace()
    {
        await using var engine = new GraphEngine();
        var failing = engine.Submit(Graph.Create<Boom>(), new Boom("boom"));
        var healthy = engine.Submit(Graph.Create<StressStart>(), new StressStart(1));

        await Task.WhenAll(failing.Completion, healthy.Completion).WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failing.State, Is.EqualTo(RunState.Failed));
            Assert.That(failing.Error, Is.EqualTo("InvalidOperationException: boom"));
            Assert.That(failing.Exception, Is.TypeOf<InvalidOperationException>());
            Assert.That(failing.Trace, Is.EqualTo(new INode[] { new Boom("boom") }));
            Assert.That(failing.NodeTimings, Has.Count.EqualTo(1));
            Assert.That(failing.EndedAt, Is.Not.Null);
            Assert.That(failing.Result, Is.Null);
            Assert.That(healthy.State, Is.EqualTo(RunState.Done));
        }
    }

    [Test]
    public async Task NodeThatReturnsNull_FailsWithContractError()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<NullReturner>(), new NullReturner());

        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Error, Is.EqualTo("NodeContractException: Node 'NullReturner' returned null; RunAsync must return the next node."));
    }

    [Test]
    public async Task Cancel_MidNode_CooperativeNodeSeesTokenAndRunEndsCancelled()
    {
        await using var engine = new GraphEngine();
        var entered = new TaskCompletionSource();
        var run = engine.Submit(Graph.Create<Gated>(), new Gated(entered, new TaskCompletionSource()));
        await entered.Task.WaitAsync(Guard);

        Assert.That(engine.Cancel(run.Id), Is.True);
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(run.Error, Is.EqualTo($"TaskCanceledException: A task was canceled."));
        Assert.That(run.EndedAt, Is.Not.Null);
        Assert.That(engine.Cancel(run.Id), Is.False, "an ended run cannot be cancelled again");
        Assert.That(engine.Cancel("g999"), Is.False);
    }

    [Test]
    public async Task Cancel_WhileQueuedBehindBusyNode_EndsAtOnce()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxDegreeOfParallelism = 1 });
        var firstEntered = new TaskCompletionSource();
        var releaseFirst = new TaskCompletionSource();
        var first = engine.Submit(graph, new Gated(firstEntered, releaseFirst));
        await firstEntered.Task.WaitAsync(Guard);
        var secondEntered = new TaskCompletionSource();
        var queued = engine.Submit(graph, new Gated(secondEntered, new TaskCompletionSource()));

        engine.Cancel(queued.Id);
        await queued.Completion.WaitAsync(Guard);

        Assert.That(queued.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(queued.Error, Is.EqualTo($"OperationCanceledException: Run {queued.Id} was cancelled."));
        Assert.That(first.State, Is.EqualTo(RunState.Running), "the busy node is unaffected");
        releaseFirst.SetResult();
        await first.Completion.WaitAsync(Guard);
        Assert.That(first.State, Is.EqualTo(RunState.Done));
        Assert.That(secondEntered.Task.IsCompleted, Is.False, "the cancelled run never executed its node");
    }

    [Test]
    public async Task SubmitToken_CancelsTheRun()
    {
        await using var engine = new GraphEngine();
        using var cts = new CancellationTokenSource();
        var entered = new TaskCompletionSource();
        var run = engine.Submit(Graph.Create<Gated>(), new Gated(entered, new TaskCompletionSource()), cancellationToken: cts.Token);
        await entered.Task.WaitAsync(Guard);

        await cts.CancelAsync();
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
    }

    [Test]
    public async Task IterationLimit_FailsTheRun_NamingTheLimit()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<Counter>(), new Counter(50), new RunOptions { MaxIterations = 10 });

        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Exception, Is.TypeOf<IterationLimitExceededException>());
        Assert.That(run.Error, Does.Contain("exceeded its iteration limit of 10 nodes"));
        Assert.That(run.NodeTimings, Has.Count.EqualTo(10));
        Assert.That(run.Trace, Has.Count.EqualTo(11), "the trace is kept: the start node and ten more");
    }

    [Test]
    public async Task IterationLimit_ZeroMeansNone()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { MaxIterations = 5 });
        var run = engine.Submit(Graph.Create<Counter>(), new Counter(50), new RunOptions { MaxIterations = 0 });

        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(((Finished)run.Result!).Count, Is.EqualTo(50));
    }

    [Test]
    public async Task History_IsBounded_OldestEvictedFirst()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 3 });
        var graph = Graph.Create<Submission>();
        for (var i = 0; i < 5; i++)
        {
            await engine.Submit(graph, new Submission(i * 30)).Completion.WaitAsync(Guard);
        }

        Assert.That(engine.History().Select(r => r.Id), Is.EqualTo(new[] { "g3", "g4", "g5" }));
        Assert.That(engine.Get("g1"), Is.Null);
        Assert.That(engine.Get("g5")!.Result, Is.EqualTo(new Approved("bot")));
        Assert.That(engine.Get("g3")!.Result, Is.EqualTo(new Approved("bot")));
        Assert.That(engine.Get("g2"), Is.Null);
    }

    [Test]
    public async Task Active_ListsRunningRuns_AndGetFindsThem()
    {
        await using var engine = new GraphEngine();
        var entered = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var run = engine.Submit(Graph.Create<Gated>(), new Gated(entered, release));
        await entered.Task.WaitAsync(Guard);

        Assert.That(engine.Active(), Is.EqualTo(new[] { run }));
        Assert.That(engine.Get(run.Id), Is.SameAs(run));
        Assert.That(run.CurrentNode, Is.TypeOf<Gated>());
        release.SetResult();
        await run.Completion.WaitAsync(Guard);
        Assert.That(engine.Active(), Is.Empty);
        Assert.That(engine.Get(run.Id), Is.SameAs(run));
    }

    [Test]
    public async Task Admission_SubmitRefusesAndSubmitAsyncWaits_WhenTheBoundIsReached()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 1 });
        var entered = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        var first = engine.Submit(graph, new Gated(entered, release));

        var refused = Assert.Throws<RunRejectedException>(() => engine.Submit(graph, new Gated(new(), new())));
        Assert.That(refused!.Message, Does.Contain("already has 1 runs in flight (GraphOptions.MaxRunsInFlight)"));

        var waiting = engine.SubmitAsync(graph, new Gated(new(), new TaskCompletionSource()));
        Assert.That(waiting.IsCompleted, Is.False);
        release.SetResult();
        var second = await waiting.AsTask().WaitAsync(Guard);
        Assert.That(first.State, Is.EqualTo(RunState.Done));
        Assert.That(second.State, Is.EqualTo(RunState.Running));
        engine.Cancel(second.Id);
        await second.Completion.WaitAsync(Guard);
    }

    [Test]
    public async Task SubmitAsync_TokenStopsWaitingForAdmission()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 1 });
        engine.Submit(graph, new Gated(new(), new()));
        using var cts = new CancellationTokenSource();

        var waiting = engine.SubmitAsync(graph, new Gated(new(), new()), cancellationToken: cts.Token).AsTask();
        await cts.CancelAsync();

        Assert.That(async () => await waiting.WaitAsync(Guard), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Submit_WithWrongStartType_Throws()
    {
        var engine = new GraphEngine();

        var e = Assert.Throws<ArgumentException>(() => engine.Submit(Graph.Create<StressStart>(), new Middle(1)));

        Assert.That(e!.Message, Does.StartWith("The start node is a 'Middle', but the graph starts at 'StressStart'."));
    }

    [Test]
    public async Task DisposeAsync_CancelsRunsInFlight_AndEveryRunEndsFinal()
    {
        var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxDegreeOfParallelism = 1 });
        var entered = new TaskCompletionSource();
        var busy = engine.Submit(graph, new Gated(entered, new TaskCompletionSource()));
        await entered.Task.WaitAsync(Guard);
        var queued = engine.Submit(graph, new Gated(new(), new()));

        await engine.DisposeAsync().AsTask().WaitAsync(Guard);

        Assert.That(busy.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(queued.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(queued.Error, Does.Contain("the engine is shutting down"));
        Assert.That(busy.Completion.IsCompleted && queued.Completion.IsCompleted, Is.True);
        Assert.Throws<ObjectDisposedException>(() => engine.Submit(graph, new Gated(new(), new())));
    }

    [Test]
    public async Task DisposeAsync_WithoutCancelling_LetsRunsFinish()
    {
        var engine = new GraphEngine(new GraphEngineOptions { CancelRunsOnDispose = false });
        var runs = Enumerable.Range(0, 20).Select(_ => engine.Submit(Graph.Create<StressStart>(), new StressStart(20))).ToList();

        await engine.DisposeAsync().AsTask().WaitAsync(Guard);

        Assert.That(runs.Select(r => r.State), Has.All.EqualTo(RunState.Done));
    }

    [Test]
    public async Task UnboundedSuccessor_DoesNotHoldItsBoundedPredecessorsSlot()
    {
        // Narrow executes one run at a time; Wide is unbounded and holds every run until all three are inside it.
        // If Wide ran in Narrow's slot, the second run could never leave Narrow and the three would never meet.
        var options = new GraphOptions { MaxDegreeOfParallelism = GraphOptions.Unbounded };
        options.Node<Narrow>().MaxDegreeOfParallelism = 1;
        await using var engine = new GraphEngine();
        var meeting = new Rendezvous(3);
        var graph = Graph.Create<Narrow>(options);

        var runs = Enumerable.Range(0, 3).Select(_ => engine.Submit(graph, new Narrow(meeting))).ToList();
        await meeting.All.WaitAsync(Guard);
        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);

        Assert.That(runs.Select(r => r.State), Has.All.EqualTo(RunState.Done));
    }

    [Test]
    public async Task TerminalStartNode_RunIsDoneAtOnce_WithItAsResult()
    {
        var sink = new Dataflow.Tests.Events.CollectingSink();
        GraphRun run;
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(sink);
            run = engine.Submit(Graph.Create<End>(), new End("given"));
            await run.Completion.WaitAsync(Guard);
        }

        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(run.Result, Is.EqualTo(new End("given")));
        Assert.That(run.Trace, Is.EqualTo(new INode[] { new End("given") }));
        Assert.That(run.NodeTimings, Is.Empty);
        Assert.That(sink.Events.Select(e => e.Kind), Is.EqualTo(new[] { Dataflow.Events.EventKind.Start, Dataflow.Events.EventKind.Complete }));
    }

    [Test]
    public async Task Elapsed_StopsWhenTheRunEnds()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<StressStart>(), new StressStart(1));
        await run.Completion.WaitAsync(Guard);

        var atEnd = run.Elapsed;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        SpinWait.SpinUntil(() => clock.ElapsedMilliseconds >= 20);

        Assert.That(run.Elapsed, Is.EqualTo(atEnd));
        Assert.That(atEnd.TotalMilliseconds, Is.EqualTo((run.EndedAt!.Value - run.StartedAt).TotalMilliseconds).Within(50), "the monotonic and wall-clock durations agree");
    }

    [Test]
    public void ResidentBytes_IsMeasured()
    {
        Assert.That(Dataflow.Diagnostics.ProcessMemory.ResidentBytes(), Is.GreaterThan(1024 * 1024));
    }

    [Test]
    public async Task ARunThatGrowsTheProcessBy64MB_SeesItInItsRssDelta_FromTheSampledReading()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<Hog>(), new Hog(64 * 1024 * 1024));
        await run.Completion.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(run.State, Is.EqualTo(RunState.Done), run.Error);
        Assert.That(run.RssDeltaBytes, Is.GreaterThan(32L * 1024 * 1024), "touching 64 MB takes well over a millisecond, so the end sample is a new one");
        Assert.That(Dataflow.Diagnostics.ProcessMemory.SampledResidentBytes(), Is.GreaterThan(1024 * 1024));
    }
}

/// <summary>Allocates and touches <see cref="Bytes"/> bytes, and keeps them until it returns.</summary>
public sealed record Hog(int Bytes) : INode<HogDone>
{
    public ValueTask<HogDone> RunAsync(NodeContext context)
    {
        var memory = GC.AllocateUninitializedArray<byte>(Bytes, pinned: false);
        for (var i = 0; i < memory.Length; i += 4096)
        {
            memory[i] = 1;
        }

        return ValueTask.FromResult(new HogDone(memory.Length + memory[^1]));
    }
}

/// <summary>What <see cref="Hog"/> returns.</summary>
public sealed record HogDone(int Touched) : INode;

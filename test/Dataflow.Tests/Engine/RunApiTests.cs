using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Tests.Events;
using Dataflow.Tests.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Engine;

/// <summary>Returns a terminal node when released, without looking at its token.</summary>
public sealed record Stubborn(TaskCompletionSource Entered, TaskCompletionSource Release) : INode<End>
{
    public async ValueTask<End> RunAsync(NodeContext context)
    {
        Entered.TrySetResult();
        await Release.Task.ConfigureAwait(false);
        return new End(context.RunId);
    }
}

/// <summary>Reads its token only after it is released: the run's token may not exist before that.</summary>
public sealed record LateReader(TaskCompletionSource Entered, TaskCompletionSource Release, TaskCompletionSource<bool> SawCancel) : INode<End>
{
    public async ValueTask<End> RunAsync(NodeContext context)
    {
        Entered.TrySetResult();
        await Release.Task.ConfigureAwait(false);
        SawCancel.TrySetResult(context.CancellationToken.IsCancellationRequested);
        return new End(context.RunId);
    }
}

/// <summary>What a user writing tests against runs needs: cancel, gates, typed results, flushing, options.</summary>
[TestFixture]
public sealed class RunApiTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Cancel_WhileANodeRuns_WhoseSuccessorIsTerminal_EndsCancelled_NotDone()
    {
        await using var engine = new GraphEngine();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = engine.Submit(Graph.Create<Stubborn>(), new Stubborn(entered, release));
        await entered.Task.WaitAsync(Guard);

        Assert.That(run.Cancel(), Is.True);
        release.SetResult();
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(run.Result, Is.Null, "the terminal node the ignoring node returned is discarded");
        Assert.That(run.Cancel(), Is.False, "an ended run cannot be cancelled again");
    }

    [Test]
    public async Task ANodeThatReadsItsTokenOnlyAfterTheRunWasCancelled_SeesItCancelled()
    {
        await using var engine = new GraphEngine();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var saw = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = engine.Submit(Graph.Create<LateReader>(), new LateReader(entered, release, saw));
        await entered.Task.WaitAsync(Guard);

        Assert.That(engine.Cancel(run.Id), Is.True);
        release.SetResult();
        Assert.That(await saw.Task.WaitAsync(Guard), Is.True);
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
    }

    [Test]
    public async Task AnEndedRun_EndedAtMinusStartedAt_IsItsElapsed_AndItsCompletionReadLateIsFinished()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 10 });
        var run = engine.Submit(Graph.Create<Deploy>(), new Deploy("api"));
        foreach (var gate in await run.WaitForGatesAsync().WaitAsync(Guard))
        {
            engine.ResolveGate(gate.Id, gate.Type == typeof(bool) ? true : "ops");
        }

        await run.Completion.WaitAsync(Guard);
        Assert.That(run.EndedAt, Is.Not.Null);
        Assert.That(run.EndedAt!.Value - run.StartedAt, Is.EqualTo(run.Elapsed));
        Assert.That(run.EndedAt.Value.Offset, Is.EqualTo(TimeSpan.Zero));
        Assert.That(run.NodeTimings.Select(t => t.Node), Is.EqualTo(run.Trace.Take(run.NodeTimings.Count).Select(n => run.Graph.NameOf(n.GetType()))));
        Assert.That(engine.Get(run.Id)!.Completion.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task WaitForGates_ReturnsTheGates_ThenTheRunGoesOnWhenTheyAreResolved()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<Deploy>(), new Deploy("api"));

        var gates = await run.WaitForGatesAsync().WaitAsync(Guard);
        Assert.That(gates.Select(g => g.Id), Is.EqualTo(new[] { $"{run.Id}.0", $"{run.Id}.1" }));
        Assert.That(run.State, Is.EqualTo(RunState.Waiting));
        Assert.That(run.PendingGates, Is.EqualTo(gates));

        engine.ResolveGate(gates[0].Id, true);
        engine.ResolveGate(gates[1].Id, "ops");
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.GetResult<Deployed>(), Is.EqualTo(new Deployed("api", true, "ops")));
        Assert.That(run.PendingGates, Is.Empty);
    }

    [Test]
    public async Task WaitForGates_OfARunThatEndsWithoutAGate_ReturnsEmpty()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<StressStart>(), new StressStart(1));
        Assert.That(await run.WaitForGatesAsync().WaitAsync(Guard), Is.Empty);
        Assert.That(run.State, Is.EqualTo(RunState.Done));
    }

    [Test]
    public async Task CancelOfARunAtAGate_EndsItCancelled_AndRemovesItsGates()
    {
        await using var engine = new GraphEngine();
        var run = engine.Submit(Graph.Create<Deploy>(), new Deploy("api"));
        await run.WaitForGatesAsync().WaitAsync(Guard);

        Assert.That(run.Cancel(), Is.True);
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(engine.PendingGateCount, Is.Zero);
    }

    [Test]
    public async Task GetResult_IsTyped_AndSaysWhyWhenThereIsNone()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Submission>();
        var approved = engine.Submit(graph, new Submission(80));
        var failed = engine.Submit(Graph.Create<Boom>(), new Boom("no"));
        await Task.WhenAll(approved.Completion, failed.Completion).WaitAsync(Guard);

        Assert.That(approved.GetResult<Approved>().By, Is.EqualTo("bot"));
        Assert.That(approved.GetResult<Review>(), Is.InstanceOf<Approved>(), "a base type of the result works too");
        Assert.That(approved.TryGetResult<Rejected>(out _), Is.False);
        Assert.That(approved.TryGetResult<Approved>(out var typed) && typed.By == "bot", Is.True);

        var wrongType = Assert.Throws<InvalidOperationException>(() => approved.GetResult<Rejected>())!;
        Assert.That(wrongType.Message, Is.EqualTo($"Run {approved.Id} ended at a 'Approved', not a 'Rejected'."));
        var notDone = Assert.Throws<InvalidOperationException>(() => failed.GetResult<End>())!;
        Assert.That(notDone.Message, Does.StartWith($"Run {failed.Id} has no result: it ended Failed (InvalidOperationException: no)"));
    }

    [Test]
    public async Task FlushAsync_WaitsUntilEverySinkHasConsumedWhatWasPublishedBefore()
    {
        await using var hub = new EventHub();
        var slow = new GateSink();
        var fast = new CollectingSink();
        var slowRegistration = hub.AddSink(slow);
        hub.AddSink(fast);
        for (var i = 1; i <= 10; i++)
        {
            await hub.PublishAsync(new GraphEvent("g1", EventKind.Transition, $"e{i}", DateTimeOffset.UnixEpoch, i));
        }

        var flush = hub.FlushAsync();
        await slow.FirstReceived.WaitAsync(Guard);
        Assert.That(flush.IsCompleted, Is.False, "the slow sink holds its first event");
        Assert.That(slowRegistration.QueueDepth, Is.GreaterThan(0));

        slow.Release();
        await flush.WaitAsync(Guard);
        Assert.That(slow.Count, Is.EqualTo(10));
        Assert.That(fast.Events, Has.Count.EqualTo(10));
        Assert.That(slowRegistration.QueueDepth, Is.Zero);
        Assert.That(hub.FlushAsync().IsCompleted, Is.True, "nothing left to wait for");
    }

    [Test]
    public async Task WriteTimeout_CancelsTheSinksToken_CountsAFailure_AndTheNextEventStillArrives()
    {
        await using var hub = new EventHub();
        var seen = new CollectingSink();
        var stuck = new StuckOnFirstSink();
        var registration = hub.AddSink(stuck, new SinkOptions { Name = "stuck", WriteTimeout = TimeSpan.FromMilliseconds(50) });
        hub.AddSink(seen);

        await hub.PublishAsync(new GraphEvent("g1", EventKind.Start, "first", DateTimeOffset.UnixEpoch, 1));
        await hub.PublishAsync(new GraphEvent("g1", EventKind.Complete, "second", DateTimeOffset.UnixEpoch, 2));
        await hub.FlushAsync().WaitAsync(Guard);

        // The error event is posted when the write times out, after the first flush's marker: a second flush follows it.
        await hub.FlushAsync().WaitAsync(Guard);

        Assert.That(stuck.Cancelled, Is.True, "the hub cancelled the token it gave the sink");
        Assert.That(stuck.Received, Is.EqualTo(new[] { "first", "second" }));
        Assert.That(registration.Failures, Is.EqualTo(1));
        Assert.That(registration.Delivered, Is.EqualTo(1));
        Assert.That(seen.Events.Where(e => e.Kind == EventKind.Error).Select(e => e.Content), Has.One.Contains("TimeoutException").And.Contains("SinkOptions.WriteTimeout"));
    }

    [Test]
    public async Task Options_ReportEveryProblemAtOnce()
    {
        var engine = Assert.Throws<ArgumentException>(() => new GraphEngine(new GraphEngineOptions { HistoryCapacity = -1, MaxIterations = -2 }))!;
        Assert.That(engine.Message, Does.Contain("2 problems").And.Contain("HistoryCapacity is -1").And.Contain("MaxIterations is -2"));

        await using var hub = new EventHub();
        var sink = Assert.Throws<ArgumentException>(() => hub.AddSink(new CollectingSink(), new SinkOptions { Capacity = 0, Policy = (OutputPolicy)42, Name = " " }))!;
        Assert.That(sink.Message, Does.Contain("3 problems").And.Contain("Capacity is 0").And.Contain("Policy is 42").And.Contain("Name is empty"));
    }

    [Test]
    public async Task RunOptions_AreReadAtSubmit_NotAfterWaitingForRoom()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 1 });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Submit(graph, new Gated(entered, release));
        await entered.Task.WaitAsync(Guard);

        var options = new RunOptions { Policy = OutputPolicy.Verbose };
        var done = new TaskCompletionSource();
        done.SetResult();
        var waiting = engine.SubmitAsync(graph, new Gated(new TaskCompletionSource(), done), options);
        options.Policy = OutputPolicy.Silent;
        release.SetResult();
        var run = await waiting.AsTask().WaitAsync(Guard);
        Assert.That(run.Policy, Is.EqualTo(OutputPolicy.Verbose));
    }

    [Test]
    public async Task RunServices_MakesServicesPerRun_AndDisposesThemWhenTheRunEnds()
    {
        var made = new System.Collections.Concurrent.ConcurrentBag<PerRunServices>();
        var options = new GraphEngineOptions
        {
            RunServices = run =>
            {
                var services = new PerRunServices(run.Id);
                made.Add(services);
                return services;
            },
        };
        GraphRun[] runs;
        await using (var engine = new GraphEngine(options))
        {
            runs = [engine.Submit(Graph.Create<Stamp>(), new Stamp()), engine.Submit(Graph.Create<Stamp>(), new Stamp())];
            await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        }

        Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
        Assert.That(made.Select(m => m.RunId), Is.EquivalentTo(runs.Select(r => r.Id)), "one provider per run");
        Assert.That(made.Select(m => m.Asked), Is.All.EqualTo(1), "each run's [Dep] came from its own provider");
        Assert.That(made.Select(m => m.Disposed), Is.All.True);
    }

    [Test]
    public async Task AFanOutsChildren_SeeTheirParentsServices_TheirOwnWhenItHasThem_ElseTheEngines()
    {
        var engineServices = new PerRunServices("engine");
        var made = new System.Collections.Concurrent.ConcurrentBag<PerRunServices>();
        var graph = Graph.Create<ServicesFan>();
        GraphRun withOwn;
        GraphRun withEngines;
        await using (var engine = new GraphEngine(new GraphEngineOptions { Services = engineServices, RunServices = run => { var own = new PerRunServices(run.Id); made.Add(own); return own; } }))
        {
            withOwn = engine.Submit(graph, new ServicesFan(3));
            await withOwn.Completion.WaitAsync(Guard);
        }

        await using (var engine = new GraphEngine(new GraphEngineOptions { Services = engineServices }))
        {
            withEngines = engine.Submit(graph, new ServicesFan(3));
            await withEngines.Completion.WaitAsync(Guard);
        }

        Assert.That(made, Has.Count.EqualTo(1), "only the parent run makes services: its children use the parent's");
        var own = (ServicesJoined)withOwn.Result!;
        Assert.That(own.Parent, Is.SameAs(made.Single()));
        Assert.That(own.Children, Has.Length.EqualTo(3).And.All.SameAs(made.Single()));
        var engines = (ServicesJoined)withEngines.Result!;
        Assert.That(engines.Parent, Is.SameAs(engineServices));
        Assert.That(engines.Children, Has.Length.EqualTo(3).And.All.SameAs(engineServices));
    }

    public sealed record ServicesFan(int Children) : INode<FanOut<ServicesChild, ServicesSeen, ServicesJoined>>
    {
        public ValueTask<FanOut<ServicesChild, ServicesSeen, ServicesJoined>> RunAsync(NodeContext context)
            => ValueTask.FromResult(new FanOut<ServicesChild, ServicesSeen, ServicesJoined>(
                Enumerable.Range(0, Children).Select(_ => new ServicesChild()),
                results => new ServicesJoined(context.Services, [.. results.Values.Select(v => v.Services)])));
    }

    public sealed record ServicesChild : INode<ServicesSeen>
    {
        public ValueTask<ServicesSeen> RunAsync(NodeContext context) => ValueTask.FromResult(new ServicesSeen(context.Services));
    }

    public sealed record ServicesSeen(IServiceProvider? Services) : INode;

    public sealed record ServicesJoined(IServiceProvider? Parent, IServiceProvider?[] Children) : INode;

    private sealed class PerRunServices(string runId) : IServiceProvider, IAsyncDisposable
    {
        public string RunId => runId;

        public int Asked { get; private set; }

        public bool Disposed { get; private set; }

        public object? GetService(Type serviceType)
        {
            Asked++;
            return serviceType == typeof(IClock) ? new FixedClock() : null;
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return default;
        }
    }

    private sealed class StuckOnFirstSink : IEventSink
    {
        private readonly List<string> _received = [];

        public bool Cancelled { get; private set; }

        public IReadOnlyList<string> Received => _received;

        public async ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
        {
            _received.Add(graphEvent.Content);
            if (_received.Count == 1)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Cancelled = true;
                    throw;
                }
            }
        }
    }
}

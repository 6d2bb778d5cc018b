using System.Diagnostics.Metrics;
using Dataflow.Diagnostics;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;
using NUnit.Framework;

namespace Dataflow.Tests.Resilience;

[TestFixture]
public sealed class RetryTests
{
    private static readonly TimeSpan Guard = ResilienceHarness.Guard;

    private static Graph PlainGraph(RetryPolicy retry, int parallelism = 64)
    {
        var options = new GraphOptions();
        options.Node<Plain>().Retry = retry;
        options.Node<Plain>().MaxDegreeOfParallelism = parallelism;
        return Graph.Create<Plain>(options);
    }

    [Test]
    public async Task Retry_FailingTwice_SucceedsOnTheThirdAttempt_AfterEachDelayOnTheEngineClock()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var run = h.Engine.Submit(Graph.Create<Flaky>(), new Flaky(2, probe));

        Assert.That(await probe.NextAttemptAsync(), Is.EqualTo(1));
        await h.Events.WaitForAsync(EventKind.Retry, 1);
        Assert.That(run.State, Is.EqualTo(RunState.Waiting), "a run in a backoff is Waiting");
        Assert.That(run.PendingGates, Is.Empty);
        h.Clock.Advance(TimeSpan.FromMilliseconds(99));
        Assert.That(probe.Calls, Is.EqualTo(1), "the 100 ms backoff has not passed");
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(await probe.NextAttemptAsync(), Is.EqualTo(2));
        await h.Events.WaitForAsync(EventKind.Retry, 2);
        h.Clock.Advance(TimeSpan.FromMilliseconds(200));
        Assert.That(await probe.NextAttemptAsync(), Is.EqualTo(3));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(run.GetResult<Finish>().Attempt, Is.EqualTo(3));
        var retries = h.Events.OfKind(EventKind.Retry);
        Assert.That(retries.Select(e => e.Metadata["attempt"]), Is.EqualTo(new object[] { 1, 2 }));
        Assert.That(retries.Select(e => e.Metadata["delay_ms"]), Is.EqualTo(new object[] { 100.0, 200.0 }), "exponential: base 100 ms, factor 2");
        Assert.That(retries[0].Error, Is.EqualTo("TransientException: attempt 1"));
        Assert.That(retries[0].Node, Is.EqualTo("Flaky"));
    }

    [Test]
    public async Task Retry_TimesEachAttempt_ButTheTraceKeepsOneEntryPerNode()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var start = new Flaky(1, probe);
        var run = h.Engine.Submit(Graph.Create<Flaky>(), start);
        await h.Events.WaitForAsync(EventKind.Retry);
        h.Clock.Advance(TimeSpan.FromMilliseconds(100));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.NodeTimings.Select(t => (t.Node, t.Attempt)), Is.EqualTo(new[] { ("Flaky", 1), ("Flaky", 2) }));
        Assert.That(run.NodeTimings[1].Start - run.NodeTimings[0].End, Is.EqualTo(TimeSpan.FromMilliseconds(100)), "the second attempt starts after the backoff");
        Assert.That(run.Trace, Is.EqualTo(new INode[] { start, new Finish(2) }));
    }

    [Test]
    public async Task Retry_Exhausted_FailsWithTheLastError_AfterMaxAttempts()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var run = h.Engine.Submit(Graph.Create<Flaky>(), new Flaky(int.MaxValue, probe));
        await h.Events.WaitForAsync(EventKind.Retry, 1);
        h.Clock.Advance(TimeSpan.FromMilliseconds(100));
        await h.Events.WaitForAsync(EventKind.Retry, 2);
        h.Clock.Advance(TimeSpan.FromMilliseconds(200));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Error, Is.EqualTo("TransientException: attempt 3"));
        Assert.That(probe.Calls, Is.EqualTo(3));
        Assert.That(run.NodeTimings.Select(t => t.Attempt), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(h.Events.OfKind(EventKind.Retry), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Retry_Delay_StaysWithinItsJitterBounds_AndVaries()
    {
        await using var h = new ResilienceHarness();
        var graph = PlainGraph(new RetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(100), Jitter = 0.5 });
        const int runs = 40;
        var started = Enumerable.Range(0, runs).Select(_ => h.Engine.Submit(graph, new Plain(1, new Probe()))).ToArray();
        await h.Events.WaitForAsync(EventKind.Retry, runs);
        h.Clock.Advance(TimeSpan.FromMilliseconds(150));
        await Task.WhenAll(started.Select(r => r.Completion)).WaitAsync(Guard);

        var delays = h.Events.OfKind(EventKind.Retry).Select(e => (double)e.Metadata["delay_ms"]!).ToArray();
        Assert.That(delays, Has.All.InRange(50.0, 150.0));
        Assert.That(delays.Distinct().Count(), Is.GreaterThan(1), "jitter spreads the delays");
        Assert.That(started.Select(r => r.State), Has.All.EqualTo(RunState.Done), "every run came back within 150 ms, the top of the jitter");
    }

    [Test]
    public void DelayFormula_IsExponential_JitteredWithinBounds_AndCappedAtMaxDelay()
    {
        var policy = new RetryPolicy { BaseDelay = TimeSpan.FromMilliseconds(100), BackoffFactor = 3, Jitter = 0.2, MaxDelay = TimeSpan.FromSeconds(2) };
        using (Assert.EnterMultipleScope())
        {
            Assert.That(policy.DelayAfter(1, 0).TotalMilliseconds, Is.EqualTo(100).Within(1e-9));
            Assert.That(policy.DelayAfter(2, 0).TotalMilliseconds, Is.EqualTo(300).Within(1e-9));
            Assert.That(policy.DelayAfter(2, -1).TotalMilliseconds, Is.EqualTo(240).Within(1e-9), "-20 %");
            Assert.That(policy.DelayAfter(2, 1).TotalMilliseconds, Is.EqualTo(360).Within(1e-9), "+20 %");
            Assert.That(policy.DelayAfter(4, 0), Is.EqualTo(TimeSpan.FromSeconds(2)), "2.7 s nominal, capped");
            Assert.That(policy.DelayAfter(30, 1), Is.EqualTo(TimeSpan.FromSeconds(2)), "no overflow far out");
        }
    }

    [Test]
    public async Task Retry_MaxDelay_CapsTheBackoff()
    {
        await using var h = new ResilienceHarness();
        var graph = PlainGraph(new RetryPolicy { MaxAttempts = 4, BaseDelay = TimeSpan.FromMilliseconds(100), BackoffFactor = 10, MaxDelay = TimeSpan.FromMilliseconds(250), Jitter = 0 });
        var run = h.Engine.Submit(graph, new Plain(3, new Probe()));
        for (var i = 1; i <= 3; i++)
        {
            await h.Events.WaitForAsync(EventKind.Retry, i);
            h.Clock.Advance(TimeSpan.FromMilliseconds(250));
        }

        await run.Completion.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(h.Events.OfKind(EventKind.Retry).Select(e => e.Metadata["delay_ms"]), Is.EqualTo(new object[] { 100.0, 250.0, 250.0 }));
    }

    [Test]
    public async Task Retry_Predicate_DecidesWhatIsRetried()
    {
        await using var h = new ResilienceHarness();
        var graph = PlainGraph(new RetryPolicy { MaxAttempts = 5, BaseDelay = TimeSpan.Zero, Jitter = 0, ShouldRetry = e => e is TransientException });
        var permanent = h.Engine.Submit(graph, new Plain(1, new Probe(), Permanent: true));
        await permanent.Completion.WaitAsync(Guard);
        var transient = h.Engine.Submit(graph, new Plain(2, new Probe()));
        await transient.Completion.WaitAsync(Guard);

        Assert.That(permanent.State, Is.EqualTo(RunState.Failed));
        Assert.That(permanent.Error, Is.EqualTo("PermanentException: no"));
        Assert.That(permanent.NodeTimings, Has.Count.EqualTo(1), "not retried");
        Assert.That(transient.State, Is.EqualTo(RunState.Done));
        Assert.That(transient.NodeTimings, Has.Count.EqualTo(3));
    }

    [Test]
    public void DefaultPredicate_RetriesOrdinaryFailures_NotContractErrors()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Dataflow.Engine.Resilience.RetryDefaults.ShouldRetry(new TransientException("x")), Is.True);
            Assert.That(Dataflow.Engine.Resilience.RetryDefaults.ShouldRetry(new TimeoutException()), Is.True);
            Assert.That(Dataflow.Engine.Resilience.RetryDefaults.ShouldRetry(new OperationCanceledException()), Is.True, "a cancellation that is not the run's own, such as an HTTP timeout");
            Assert.That(Dataflow.Engine.Resilience.RetryDefaults.ShouldRetry(new NodeContractException("null")), Is.False);
            Assert.That(Dataflow.Engine.Resilience.RetryDefaults.ShouldRetry(new IterationLimitExceededException("g1", 3)), Is.False);
            Assert.That(Dataflow.Engine.Resilience.RetryDefaults.ShouldRetry(new RecallException("n", "p", typeof(int))), Is.False);
        }
    }

    [Test]
    public async Task Dependencies_AreReusedAcrossAttempts_UnlessFreshDependencies()
    {
        await using var h = new ResilienceHarness();
        foreach (var fresh in new[] { false, true })
        {
            var options = new GraphOptions();
            options.Node<WithDependency>().Retry = new RetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.Zero, FreshDependencies = fresh };
            var probe = new Probe();
            var run = h.Engine.Submit(Graph.Create<WithDependency>(options), new WithDependency(probe));
            await run.Completion.WaitAsync(Guard);

            Assert.That(run.State, Is.EqualTo(RunState.Done));
            Assert.That(probe.DependencyCalls, Is.EqualTo(fresh ? 2 : 1), $"FreshDependencies = {fresh}");
            Assert.That(run.DepTimings, Has.Count.EqualTo(fresh ? 2 : 1));
        }
    }

    [Test]
    public async Task Retries_AreCountedPerNode_OnTheMeter()
    {
        long retries = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DataflowTelemetry.Name && instrument.Name == "dataflow.node.retries")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "dataflow.node" && (string?)tag.Value == nameof(MeteredFlaky))
                {
                    Interlocked.Add(ref retries, value);
                }
            }
        });
        listener.Start();

        await using var h = new ResilienceHarness();
        var run = h.Engine.Submit(Graph.Create<MeteredFlaky>(), new MeteredFlaky(new Probe()));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(Interlocked.Read(ref retries), Is.EqualTo(2));
    }

    [Test]
    public void RetryOptions_AreValidated_EveryProblemAtOnce()
    {
        var options = new GraphOptions();
        options.Node<Plain>().Retry = new RetryPolicy { MaxAttempts = 0, BaseDelay = TimeSpan.FromSeconds(-1), BackoffFactor = 0.5, Jitter = 2 };
        options.Node<Plain>().Timeout = TimeSpan.Zero;

        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create<Plain>(options))!;
        Assert.That(error.Errors, Has.Count.EqualTo(5));
        Assert.That(error.Errors, Has.All.Contains("'Plain'"));
        Assert.That(error.Message, Does.Contain("MaxAttempts 0").And.Contain("BackoffFactor 0.5").And.Contain("Jitter 2").And.Contain("timeout of node 'Plain'"));
    }

    [Test]
    public void RetryPolicy_IsCopiedWhenTheGraphIsBuilt()
    {
        var retry = new RetryPolicy { MaxAttempts = 2 };
        var options = new GraphOptions();
        options.Node<Plain>().Retry = retry;
        var graph = Graph.Create<Plain>(options);
        retry.MaxAttempts = 0;

        Assert.That(graph.Find(typeof(Plain))!.Resilience.Retry!.MaxAttempts, Is.EqualTo(2));
    }
}

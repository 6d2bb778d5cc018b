using Dataflow.Engine;
using Dataflow.Engine.Resilience;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;
using NUnit.Framework;

namespace Dataflow.Tests.Resilience;

[TestFixture]
public sealed class TimeoutAndDeadlineTests
{
    private static readonly TimeSpan Guard = ResilienceHarness.Guard;

    private static Graph WithTimeout<TNode>(TimeSpan timeout, RetryPolicy? retry = null, int? parallelism = null)
        where TNode : INode
    {
        var options = new GraphOptions();
        options.Node<TNode>().Timeout = timeout;
        options.Node<TNode>().Retry = retry;
        options.Node<TNode>().MaxDegreeOfParallelism = parallelism;
        return Graph.Create<TNode>(options);
    }

    [Test]
    public async Task Timeout_CancelsTheAttemptsToken_AndFailsWithAnErrorNamingNodeAndLimit()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var run = h.Engine.Submit(WithTimeout<Cooperative>(TimeSpan.FromSeconds(2)), new Cooperative(probe));
        await probe.NextAttemptAsync();
        h.Clock.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.That(probe.LastToken.IsCancellationRequested, Is.False);
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await run.Completion.WaitAsync(Guard);

        Assert.That(probe.LastToken.IsCancellationRequested, Is.True, "the node saw its attempt's token cancelled");
        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        var error = (NodeTimeoutException)run.Exception!;
        Assert.That(error.Node, Is.EqualTo("Cooperative"));
        Assert.That(error.Timeout, Is.EqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(error.Message, Does.StartWith("Node 'Cooperative' did not finish within its timeout of 2 s (attempt 1)"));
        Assert.That(error.InnerException, Is.InstanceOf<OperationCanceledException>(), "what the node threw");
        Assert.That(run.NodeTimings[0].DurationMs, Is.EqualTo(2000));
    }

    [Test]
    public async Task Timeout_OfANodeThatIgnoresItsToken_MovesTheRunOn_AndIsRetriedLikeAnyFailure()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var graph = WithTimeout<Stubborn>(TimeSpan.FromSeconds(1), new RetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromSeconds(1), Jitter = 0 });
        var run = h.Engine.Submit(graph, new Stubborn(probe));
        await probe.NextAttemptAsync();
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await h.Events.WaitForAsync(EventKind.Retry);
        Assert.That(h.Events.OfKind(EventKind.Retry)[0].Error, Does.StartWith("NodeTimeoutException: Node 'Stubborn' did not finish within its timeout of 1 s"));
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Done), "the first attempt is still stuck, the run went on without it");
        Assert.That(run.GetResult<Finish>().Attempt, Is.EqualTo(2));
        probe.Release.SetResult();
    }

    [Test]
    public async Task Timeout_OfABlockingNode_FailsTheAttemptWhenItReturns_WhileAsyncRunsKeepFlowing()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var run = h.Engine.Submit(WithTimeout<Blocker>(TimeSpan.FromSeconds(1), parallelism: 1), new Blocker(probe));
        await probe.NextAttemptAsync();
        h.Clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(probe.LastToken.IsCancellationRequested, Is.True, "its token is cancelled at the timeout");
        Assert.That(run.State, Is.EqualTo(RunState.Running), "a blocking node cannot be pre-empted: the run waits for it");

        // Starvation: while the blocking node holds its own dedicated thread past its timeout, async runs go through.
        var asyncRuns = Enumerable.Range(0, 20).Select(_ => h.Engine.Submit(Graph.Create<Flaky>(), new Flaky(0, new Probe()))).ToArray();
        await Task.WhenAll(asyncRuns.Select(r => r.Completion)).WaitAsync(Guard);
        Assert.That(asyncRuns.Select(r => r.State), Has.All.EqualTo(RunState.Done));

        probe.Unblock.Set();
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Failed), "it returned a node, but after its timeout");
        Assert.That(run.Exception, Is.InstanceOf<NodeTimeoutException>());
    }

    [Test]
    public async Task Deadline_WhileANodeExecutes_FailsTheRunWithTheDeadlineError()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var run = h.Engine.Submit(Graph.Create<Cooperative>(), new Cooperative(probe), new RunOptions { Deadline = TimeSpan.FromSeconds(5) });
        await probe.NextAttemptAsync();
        h.Clock.Advance(TimeSpan.FromSeconds(5));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        var error = (RunDeadlineExceededException)run.Exception!;
        Assert.That(error.RunId, Is.EqualTo(run.Id));
        Assert.That(error.Deadline, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(error.Message, Is.EqualTo($"Run {run.Id} passed its deadline of 5 s from submit (RunOptions.Deadline) at node 'Cooperative'; raise the deadline or make the run faster."));
        await h.Events.WaitForAsync(EventKind.Fail);
        Assert.That(h.Events.OfKind(EventKind.Fail).Single().Error, Does.StartWith("RunDeadlineExceededException"));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Deadline_OfABatchsRun_CountsFromWhenItsStartNodeWasRead_NotFromTheBatchsStart(bool runBatch)
    {
        // Once the first run is done, the source holds back its second start node while the clock passes the deadline:
        // that run was not submitted yet, so it gets its whole deadline. One more second while it executes must not end it.
        await using var h = new ResilienceHarness();
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondRelease = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var released = new TaskCompletionSource();
        released.SetResult();
        async IAsyncEnumerable<INode> Source()
        {
            yield return new Gated(new TaskCompletionSource(), released);
            asked.TrySetResult();
            await release.Task.ConfigureAwait(false);
            yield return new Gated(secondEntered, secondRelease);
        }

        var options = new RunOptions { Deadline = TimeSpan.FromSeconds(5) };
        var states = new List<RunState>();
        async Task SubmitManyAsync()
        {
            var runs = new List<GraphRun>();
            await foreach (var run in h.Engine.SubmitManyAsync(Graph.Create<Gated>(), Source(), options))
            {
                runs.Add(run);
            }

            await Task.WhenAll(runs.Select(r => r.Completion));
            states.AddRange(runs.Select(r => r.State));
        }

        var batch = runBatch
            ? h.Engine.RunBatchAsync(Graph.Create<Gated>(), Source(), new BatchOptions { Run = options, RunEnded = run => { lock (states) { states.Add(run.State); } } })
            : SubmitManyAsync();
        await asked.Task.WaitAsync(Guard);
        await h.Events.WaitForAsync(EventKind.Complete, 1);
        h.Clock.Advance(TimeSpan.FromSeconds(10));
        release.TrySetResult();
        await secondEntered.Task.WaitAsync(Guard);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        secondRelease.TrySetResult();
        await batch.WaitAsync(Guard);

        Assert.That(states, Is.EqualTo(new[] { RunState.Done, RunState.Done }), string.Join(", ", h.Events.OfKind(EventKind.Fail).Select(e => e.Error)));
    }

    [Test]
    public async Task Deadline_WhileBufferedBehindABusyNode_FailsTheRunAtOnce()
    {
        await using var h = new ResilienceHarness();
        var options = new GraphOptions();
        options.Node<Stubborn>().MaxDegreeOfParallelism = 1;
        var graph = Graph.Create<Stubborn>(options);
        var busyProbe = new Probe();
        var busy = h.Engine.Submit(graph, new Stubborn(busyProbe));
        await busyProbe.NextAttemptAsync();
        var queuedProbe = new Probe();
        var queued = h.Engine.Submit(graph, new Stubborn(queuedProbe), new RunOptions { Deadline = TimeSpan.FromSeconds(1) });
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await queued.Completion.WaitAsync(Guard);

        Assert.That(queued.State, Is.EqualTo(RunState.Failed));
        Assert.That(queued.Exception, Is.InstanceOf<RunDeadlineExceededException>());
        Assert.That(queuedProbe.Calls, Is.Zero, "it never left the buffer");
        Assert.That(busy.State, Is.EqualTo(RunState.Running));
        busyProbe.Release.SetResult();
        await busy.Completion.WaitAsync(Guard);
        Assert.That(busy.State, Is.EqualTo(RunState.Done));
    }

    [Test]
    public async Task Deadline_DuringABackoff_FailsTheRunAtOnce()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var options = new GraphOptions();
        options.Node<Plain>().Retry = new RetryPolicy { BaseDelay = TimeSpan.FromMinutes(10), Jitter = 0, MaxDelay = TimeSpan.FromHours(1) };
        var run = h.Engine.Submit(Graph.Create<Plain>(options), new Plain(5, probe), new RunOptions { Deadline = TimeSpan.FromSeconds(1) });
        await h.Events.WaitForAsync(EventKind.Retry);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Exception, Is.InstanceOf<RunDeadlineExceededException>());
        Assert.That(probe.Calls, Is.EqualTo(1));
    }

    [Test]
    public async Task Deadline_AtAGate_FailsTheRunAndWithdrawsItsGate()
    {
        await using var h = new ResilienceHarness();
        var run = h.Engine.Submit(Graph.Create<AskForever>(), new AskForever("deploy"), new RunOptions { Deadline = TimeSpan.FromSeconds(1) });
        await h.Events.WaitForAsync(EventKind.Gate);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Exception, Is.InstanceOf<RunDeadlineExceededException>());
        Assert.That(h.Engine.PendingGateCount, Is.Zero);
    }

    [Test]
    public async Task CancelAfterTheDeadline_KeepsTheDeadlineError_AndCancelBeforeItKeepsCancelled()
    {
        await using var h = new ResilienceHarness();
        var first = new Probe();
        var expired = h.Engine.Submit(Graph.Create<Stubborn>(), new Stubborn(first), new RunOptions { Deadline = TimeSpan.FromSeconds(1) });
        await first.NextAttemptAsync();
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        h.Engine.Cancel(expired.Id);
        first.Release.SetResult();
        await expired.Completion.WaitAsync(Guard);

        var second = new Probe();
        var cancelled = h.Engine.Submit(Graph.Create<Cooperative>(), new Cooperative(second), new RunOptions { Deadline = TimeSpan.FromSeconds(1) });
        await second.NextAttemptAsync();
        h.Engine.Cancel(cancelled.Id);
        await cancelled.Completion.WaitAsync(Guard);
        h.Clock.Advance(TimeSpan.FromSeconds(1));

        Assert.That(expired.State, Is.EqualTo(RunState.Failed));
        Assert.That(expired.Exception, Is.InstanceOf<RunDeadlineExceededException>());
        Assert.That(cancelled.State, Is.EqualTo(RunState.Cancelled));
    }

    [Test]
    public void Deadline_IsValidated()
    {
        var engine = new GraphEngine();
        var error = Assert.Throws<ArgumentException>(() => engine.Submit(Graph.Create<Flaky>(), new Flaky(0, new Probe()), new RunOptions { Deadline = TimeSpan.Zero, MaxIterations = -1 }))!;
        Assert.That(error.Message, Does.Contain("Deadline is 00:00:00; it must be positive").And.Contain("MaxIterations is -1").And.Contain("2 problems"));
    }

    [Test]
    public async Task GateTimeout_WithADefault_TakesTheDefaultAndGoesOn()
    {
        await using var h = new ResilienceHarness();
        var run = h.Engine.Submit(Graph.Create<Ask>(), new Ask("deploy"));
        await h.Events.WaitForAsync(EventKind.Gate);
        var gate = h.Engine.PendingGatesForRun(run.Id).Single();
        h.Clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.That(run.State, Is.EqualTo(RunState.Waiting));
        h.Clock.Advance(TimeSpan.FromMilliseconds(1));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(run.GetResult<Answer>(), Is.EqualTo(new Answer("deploy", false)), "the gate's default, not the property's initial true");
        Assert.That(h.Engine.ResolveGate(gate.Id, true), Is.False, "withdrawn at its timeout");
    }

    [Test]
    public async Task GateTimeout_WithoutADefault_FailsTheRunNamingTheGate()
    {
        await using var h = new ResilienceHarness();
        var run = h.Engine.Submit(Graph.Create<AskOrFail>(), new AskOrFail("deploy"));
        await h.Events.WaitForAsync(EventKind.Gate);
        h.Clock.Advance(TimeSpan.FromSeconds(1));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        var error = (GateTimeoutException)run.Exception!;
        Assert.That(error.GateId, Is.EqualTo($"{run.Id}.0"));
        Assert.That(error.Message, Does.StartWith($"Gate {run.Id}.0 ('AskOrFail.Approved') got no value within its timeout of 1 s"));
        Assert.That(h.Engine.PendingGateCount, Is.Zero);
    }

    [Test]
    public async Task GateTimeout_ResolvedInTime_TakesTheValue()
    {
        await using var h = new ResilienceHarness();
        var run = h.Engine.Submit(Graph.Create<AskOrFail>(), new AskOrFail("deploy"));
        await h.Events.WaitForAsync(EventKind.Gate);
        Assert.That(h.Engine.ResolveGate($"{run.Id}.0", true), Is.True);
        await run.Completion.WaitAsync(Guard);
        h.Clock.Advance(TimeSpan.FromSeconds(5));

        Assert.That(run.GetResult<Answer>(), Is.EqualTo(new Answer("deploy", true)));
    }

    [Test]
    public void GateDefault_ThatDoesNotFitItsProperty_IsRefusedWhenTheGraphIsBuilt()
    {
        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create<BadDefault>())!;
        Assert.That(error.Message, Does.Contain("The gate 'BadDefault.Approved' has Default 'yes' (String), which does not fit its type 'Boolean'."));
    }
}

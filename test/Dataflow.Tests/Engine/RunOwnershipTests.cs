using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using NUnit.Framework;

namespace Dataflow.Tests.Engine;

/// <summary>Every owner transition of <see cref="RunExecution"/>, the checks on them, and admission leases.</summary>
[TestFixture]
public sealed class RunOwnershipTests
{
    private static (RunExecution Run, GraphNetwork Network) NewRun(Graph? graph = null)
    {
        graph ??= Graph.Create<StressStart>(new GraphOptions { MaxRunsInFlight = 4 });
        var options = new GraphEngineOptions().Validated();
        var lifecycle = new RunLifecycle(options, new EventHub());
        var network = new GraphNetwork(lifecycle, graph);
        Assert.That(network.TryEnter(out var lease), Is.True);
        var run = new RunExecution("r1", new StressStart(1), RunOptions.Settle(null, options), lease);
        return (run, network);
    }

    [Test]
    public void NewRun_IsIdle_HoldsOneSlot()
    {
        var (run, network) = NewRun();
        Assert.That(run.Owner, Is.EqualTo(RunOwner.Idle));
        Assert.That(network.InFlight, Is.EqualTo(1));
    }

    [Test]
    public void BeginStep_HandOff_BeginStep_CyclesBetweenIdleAndExecuting()
    {
        var (run, _) = NewRun();
        Assert.That(run.TryBeginStep(), Is.True);
        Assert.That(run.Owner, Is.EqualTo(RunOwner.Executing));
        Assert.That(run.TryBeginStep(), Is.False, "an executing run cannot be taken by a second executor");
        Assert.That(run.TryTakeIdle(), Is.False, "a canceller cannot take an executing run");
        run.HandOff();
        Assert.That(run.Owner, Is.EqualTo(RunOwner.Idle));
        Assert.That(run.TryBeginStep(), Is.True);
    }

    [Test]
    public void TakeIdle_WinsOverALaterExecutor_AndIsFinal()
    {
        var (run, _) = NewRun();
        Assert.That(run.TryTakeIdle(), Is.True);
        Assert.That(run.Owner, Is.EqualTo(RunOwner.Finishing));
        Assert.That(run.TryBeginStep(), Is.False, "the block that dequeues a taken run drops it");
        Assert.That(run.TryTakeIdle(), Is.False);
        Assert.Throws<InvalidOperationException>(run.TakeForFinish);
    }

    [Test]
    public void TransitionsFromTheWrongOwner_Throw_NamingTheRunAndBothOwners()
    {
        var (run, _) = NewRun();
        var handOff = Assert.Throws<InvalidOperationException>(run.HandOff)!;
        Assert.That(handOff.Message, Does.Contain("r1").And.Contain("Executing").And.Contain("Idle"));
        Assert.Throws<InvalidOperationException>(() => run.Park([]));
        Assert.Throws<InvalidOperationException>(run.TakeForFinish, "an idle run is taken with TryTakeIdle, never by force");
        Assert.That(run.Owner, Is.EqualTo(RunOwner.Idle), "a refused transition changes nothing");
    }

    [Test]
    public void Park_GivesBackTheSlot_Unpark_TakesANewOne_AndTheRunIsIdleAgain()
    {
        var (run, network) = NewRun();
        run.TryBeginStep();
        run.Park([]);
        Assert.That(run.Owner, Is.EqualTo(RunOwner.Waiting));
        Assert.That(run.State, Is.EqualTo(RunState.Waiting));
        Assert.That(network.InFlight, Is.Zero, "a parked run holds no admission slot");
        Assert.That(run.TryTakeIdle(), Is.False, "a parked run belongs to its gate waiter");
        Assert.Throws<InvalidOperationException>(run.HandOff);

        Assert.That(network.TryEnter(out var lease), Is.True);
        run.Unpark(lease);
        Assert.That(run.Owner, Is.EqualTo(RunOwner.Idle));
        Assert.That(run.State, Is.EqualTo(RunState.Running));
        Assert.That(network.InFlight, Is.EqualTo(1));
    }

    [Test]
    public void WaitingOwner_CanTakeTheRunForFinish()
    {
        var (run, network) = NewRun();
        run.TryBeginStep();
        run.Park([]);
        run.TakeForFinish();
        Assert.That(run.Owner, Is.EqualTo(RunOwner.Finishing));
        Assert.That(network.InFlight, Is.Zero);
    }

    [Test]
    public void AdmissionLease_IsGivenBackExactlyOnce()
    {
        var (run, network) = NewRun();
        Assert.That(network.TryEnter(out var other), Is.True);
        Assert.That(network.InFlight, Is.EqualTo(2));

        run.ReleaseAdmission();
        run.ReleaseAdmission();
        Assert.That(network.InFlight, Is.EqualTo(1), "a second release of the same lease gives nothing back");
        var second = new RunExecution("r2", new StressStart(1), RunOptions.Settle(null, new GraphEngineOptions().Validated()), other);
        second.ReleaseAdmission();
        second.ReleaseAdmission();
        Assert.That(network.InFlight, Is.Zero);
        for (var i = 0; i < 4; i++)
        {
            Assert.That(network.TryEnter(out _), Is.True, "all four slots are free again, no more");
        }

        Assert.That(network.TryEnter(out _), Is.False);
    }

    [Test]
    public void LinkingATokenThatCannotBeCancelled_AllocatesNothing()
    {
        var (run, _) = NewRun();
        run.LinkCancellation(CancellationToken.None);
        var before = GC.GetAllocatedBytesForCurrentThread();
        run.LinkCancellation(CancellationToken.None);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "no closure, no registration for a token that cannot fire");

        using var source = new CancellationTokenSource();
        run.LinkCancellation(source.Token);
        source.Cancel();
        Assert.That(run.CancellationToken.IsCancellationRequested, Is.True, "a token that can fire still cancels the run");
    }

    [Test]
    public void AStopRequestedBeforeTheTokenExists_CancelsTheTokenWhenItIsMade()
    {
        var (run, _) = NewRun();
        run.RequestCancel();
        Assert.That(run.IsStopRequested, Is.True);
        Assert.That(run.Context.CancellationToken.IsCancellationRequested, Is.True, "the token made after the stop starts cancelled");
    }

    [Test]
    public void ATokenMadeBeforeTheStop_IsCancelledByIt_AndIsTheSameTokenEachTime()
    {
        var (run, _) = NewRun();
        var token = run.Context.CancellationToken;
        Assert.That(run.Context.CancellationToken, Is.EqualTo(token), "one token source per run");
        Assert.That(token.IsCancellationRequested, Is.False);
        run.RequestStop(StopReason.Deadline);
        run.RequestCancel();
        Assert.That(token.IsCancellationRequested, Is.True);
        Assert.That(run.StopReason, Is.EqualTo(StopReason.Deadline), "the first reason recorded wins");
    }

    [Test]
    public async Task TokenMadeAgainstStop_OnManyThreads_TheTokenIsAlwaysCancelled()
    {
        for (var i = 0; i < 2_000; i++)
        {
            var (run, _) = NewRun();
            using var start = new Barrier(2);
            var reader = Task.Run(() => { start.SignalAndWait(); return run.Context.CancellationToken; });
            var stopper = Task.Run(() => { start.SignalAndWait(); run.RequestCancel(); });
            await Task.WhenAll(reader, stopper).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.That((await reader).IsCancellationRequested, Is.True, $"iteration {i}: a stop and the token's making raced, and the token missed the stop");
        }
    }

    [Test]
    public void ATimedAttemptsToken_IsTheNodesUntilTheRunsIsGivenBack()
    {
        var (run, _) = NewRun();
        using var attempt = new CancellationTokenSource();
        run.UseAttemptToken(attempt.Token);
        Assert.That(run.Context.CancellationToken, Is.EqualTo(attempt.Token));
        run.UseRunToken();
        run.RequestCancel();
        Assert.That(run.Context.CancellationToken.IsCancellationRequested, Is.True);
        Assert.That(attempt.IsCancellationRequested, Is.False, "the run's own token is back");
    }

    [Test]
    public void Completion_ReadOnlyAfterTheRunEnded_IsFinished_AndReadBefore_FinishesWhenSignalled()
    {
        var (early, _) = NewRun();
        var completion = early.Completion;
        Assert.That(early.Completion, Is.SameAs(completion), "one task per run");
        Assert.That(completion.IsCompleted, Is.False);
        early.SignalCompletion();
        Assert.That(completion.IsCompletedSuccessfully, Is.True);

        var (late, _) = NewRun();
        late.SignalCompletion();
        Assert.That(late.Completion.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task CompletionReadAgainstSignal_OnManyThreads_TheTaskAlwaysFinishes()
    {
        for (var i = 0; i < 2_000; i++)
        {
            var (run, _) = NewRun();
            using var start = new Barrier(2);
            Task? seen = null;
            var reader = Task.Run(() => { start.SignalAndWait(); seen = run.Completion; });
            var signaller = Task.Run(() => { start.SignalAndWait(); run.SignalCompletion(); });
            await Task.WhenAll(reader, signaller).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.That(seen!.IsCompletedSuccessfully, Is.True, $"iteration {i}: the completion was read while it was signalled, and never finished");
        }
    }

    [Test]
    public void ATraceLongerThanTheRunHoldsInline_KeepsEveryEntryInOrder()
    {
        var graph = Graph.Create<StressStart>(new GraphOptions { MaxRunsInFlight = 4 });
        var options = new GraphEngineOptions().Validated();
        var lifecycle = new RunLifecycle(options, new EventHub());
        var network = new GraphNetwork(lifecycle, graph);
        Assert.That(network.TryEnter(out var lease), Is.True);
        var run = new RunExecution("r1", new StressStart(0), RunOptions.Settle(null, options), lease);
        for (var i = 1; i <= 9; i++)
        {
            run.Advance(i * 10, (i * 10) + 5, new StressStart(i));
        }

        Assert.That(run.Trace.Cast<StressStart>().Select(n => n.DelayMs), Is.EqualTo(Enumerable.Range(0, 10)));
        Assert.That(run.NodeTimings, Has.Count.EqualTo(9), "the last node has not run yet");
        Assert.That(run.NodeTimings.Select(t => t.Node).Distinct(), Is.EqualTo(new[] { graph.NameOf(typeof(StressStart)) }));
    }

    [Test]
    public void ARestoredTrace_PutsItsEarlierNodesFirst_AcrossTheInlineEntriesAndTheRest()
    {
        var (run, _) = NewRun();
        run.RestoreTrace([.. Enumerable.Range(100, 5).Select(i => (INode)new StressStart(i))]);
        run.Advance(10, 15, new StressStart(2));

        Assert.That(run.Trace.Cast<StressStart>().Select(n => n.DelayMs), Is.EqualTo(new[] { 100, 101, 102, 103, 104, 1, 2 }));
        Assert.That(((StressStart)run.StartNode).DelayMs, Is.EqualTo(100), "the first restored node is the run's start");
        Assert.That(run.TraceLength, Is.EqualTo(7));
        Assert.That(run.NodeTimings, Has.Count.EqualTo(1), "restored nodes ran before the restore: only the one run since has a timing");
    }

    [Test]
    public async Task BeginStepAgainstTakeIdle_OnManyThreads_ExactlyOneWinsEachTime()
    {
        for (var i = 0; i < 2_000; i++)
        {
            var (run, _) = NewRun();
            using var start = new Barrier(2);
            var executor = Task.Run(() => { start.SignalAndWait(); return run.TryBeginStep(); });
            var canceller = Task.Run(() => { start.SignalAndWait(); return run.TryTakeIdle(); });
            var won = await Task.WhenAll(executor, canceller);
            Assert.That(won.Count(w => w), Is.EqualTo(1), $"round {i}: exactly one of executor and canceller owns the run");
            Assert.That(run.Owner, Is.EqualTo(won[0] ? RunOwner.Executing : RunOwner.Finishing));
        }
    }
}

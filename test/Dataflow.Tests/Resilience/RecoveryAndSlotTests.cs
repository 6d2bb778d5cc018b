using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;
using NUnit.Framework;

namespace Dataflow.Tests.Resilience;

[TestFixture]
public sealed class RecoveryAndSlotTests
{
    private static readonly TimeSpan Guard = ResilienceHarness.Guard;

    [Test]
    public async Task FailingForGood_RoutesToTheRecoveryNode_WithTheErrorAndTheFailedNode()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var charge = new Charge("bad", probe);
        var run = h.Engine.Submit(Graph.Create<Charge>(), charge, new RunOptions { Policy = OutputPolicy.Verbose });
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Done), "a terminal recovery node ends the run Done");
        var failure = run.GetResult<DeadLetter>().Failure;
        Assert.That(failure.Error, Is.InstanceOf<TransientException>());
        Assert.That(failure.Error.Message, Is.EqualTo("card declined for bad"));
        Assert.That(failure.FailedNode, Is.SameAs(charge));
        Assert.That(failure.NodeName, Is.EqualTo("Charge"));
        Assert.That(failure.Attempts, Is.EqualTo(2), "after its retries");
        Assert.That(failure.RunId, Is.EqualTo(run.Id));
        Assert.That(probe.Calls, Is.EqualTo(2));
        Assert.That(run.Trace.Select(n => n.GetType()), Is.EqualTo(new[] { typeof(Charge), typeof(DeadLetter) }));

        await h.Events.WaitForAsync(EventKind.Complete);
        var transition = h.Events.OfKind(EventKind.Transition).Single();
        Assert.That(transition.NextNode, Is.EqualTo("DeadLetter"));
        Assert.That(transition.Metadata["error"], Is.EqualTo("TransientException: card declined for bad"));
        Assert.That(transition.Metadata["route"], Is.EqualTo("recovery"));
        Assert.That(transition.Metadata["attempts"], Is.EqualTo(2));
    }

    [Test]
    public async Task Recovery_IsNotTakenWhenTheNodeSucceeds_NorOnCancellation()
    {
        await using var h = new ResilienceHarness();
        var ok = h.Engine.Submit(Graph.Create<Charge>(), new Charge("good", new Probe()));
        var probe = new Probe();
        var cancelled = h.Engine.Submit(Graph.Create<CancellableCharge>(), new CancellableCharge(probe));
        await probe.NextAttemptAsync();
        h.Engine.Cancel(cancelled.Id);
        await Task.WhenAll(ok.Completion, cancelled.Completion).WaitAsync(Guard);

        Assert.That(ok.Result, Is.EqualTo(new Charged("good")));
        Assert.That(cancelled.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(cancelled.Trace, Has.Count.EqualTo(1));
    }

    [Test]
    public void RecoveryEdges_AreDiscovered_SeparateFromSuccessors_AndDrawnDotted()
    {
        var graph = Graph.Create<Charge>();

        Assert.That(graph.Nodes, Is.EqualTo(new[] { typeof(Charge), typeof(DeadLetter), typeof(Charged) }));
        Assert.That(graph.Edges, Is.EqualTo(new[] { new GraphEdge(typeof(Charge), typeof(Charged)) }));
        Assert.That(graph.RecoveryEdges, Is.EqualTo(new[] { new GraphEdge(typeof(Charge), typeof(DeadLetter)) }));
        Assert.That(graph.ToMermaid(), Does.Contain("    Charge --> Charged\n").And.Contain("    Charge -. error .-> DeadLetter\n"));
        Assert.That(graph.TerminalNodes, Does.Contain(typeof(DeadLetter)));
    }

    [Test]
    public void RecoveryThroughOptions_WinsOverNone_AndIsValidated()
    {
        var options = new GraphOptions();
        options.Node<Plain>().RecoverWith = typeof(DeadLetter);
        Assert.That(Graph.Create<Plain>(options).RecoveryEdges, Is.EqualTo(new[] { new GraphEdge(typeof(Plain), typeof(DeadLetter)) }));

        options.Node<Plain>().RecoverWith = typeof(NoFailureConstructor);
        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create<Plain>(options))!;
        Assert.That(error.Message, Does.Contain("Node 'Plain' declares recovery node 'NoFailureConstructor', which has no public constructor taking a NodeFailure"));
    }

    [TestCase(typeof(RecoversBadly), "Node 'RecoversBadly' declares recovery node 'NoFailureConstructor', which has no public constructor taking a NodeFailure")]
    [TestCase(typeof(RecoversAbstract), "Node 'RecoversAbstract' declares recovery node 'AbstractRecovery', which is abstract")]
    [TestCase(typeof(RecoversToNonNode), "Node 'RecoversToNonNode' declares recovery node 'NotANode', which is not a node")]
    public void UnusableRecoveryType_IsRefused_NamingBothTypes(Type start, string message)
    {
        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create(start))!;
        Assert.That(error.Message, Does.Contain(message));
    }

    [Test]
    public async Task Backoff_FreesTheNodeSlotAndTheAdmissionSlot_HealthyRunsFlowWhileFailingRunsWait()
    {
        await using var h = new ResilienceHarness();
        const int failing = 3;
        var options = new GraphOptions { MaxRunsInFlight = failing };
        options.Node<Plain>().MaxDegreeOfParallelism = 1;
        options.Node<Plain>().Retry = new RetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromHours(1), MaxDelay = TimeSpan.FromHours(2), Jitter = 0 };
        var graph = Graph.Create<Plain>(options);

        var sick = Enumerable.Range(0, failing).Select(_ => h.Engine.Submit(graph, new Plain(1, new Probe()))).ToArray();
        await h.Events.WaitForAsync(EventKind.Retry, failing);
        Assert.That(sick.Select(r => r.State), Has.All.EqualTo(RunState.Waiting));

        // Every admission slot of the graph would be taken if a backing-off run kept its own: Submit would refuse.
        // One node slot: a healthy run could not pass the flaky node if a backing-off run held it.
        for (var i = 0; i < 10; i++)
        {
            var healthy = h.Engine.Submit(graph, new Plain(0, new Probe()));
            await healthy.Completion.WaitAsync(Guard);
            Assert.That(healthy.State, Is.EqualTo(RunState.Done));
        }

        Assert.That(sick.Select(r => r.State), Has.All.EqualTo(RunState.Waiting), "still backing off: the clock has not moved");
        h.Clock.Advance(TimeSpan.FromHours(1));
        await Task.WhenAll(sick.Select(r => r.Completion)).WaitAsync(Guard);
        Assert.That(sick.Select(r => r.State), Has.All.EqualTo(RunState.Done));
    }

    [Test]
    public async Task Backoff_DoesNotSignalWaitForGates()
    {
        await using var h = new ResilienceHarness();
        var run = h.Engine.Submit(Graph.Create<Flaky>(), new Flaky(1, new Probe()));
        var gates = run.WaitForGatesAsync();
        await h.Events.WaitForAsync(EventKind.Retry);
        Assert.That(gates.IsCompleted, Is.False, "a backoff is not a gate");
        h.Clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.That(await gates.WaitAsync(Guard), Is.Empty, "the run ended without waiting at a gate");
    }

    [Test]
    public async Task CancelDuringBackoff_EndsCancelledAtOnce()
    {
        await using var h = new ResilienceHarness();
        var probe = new Probe();
        var options = new GraphOptions();
        options.Node<Plain>().Retry = new RetryPolicy { BaseDelay = TimeSpan.FromHours(1), MaxDelay = TimeSpan.FromHours(2) };
        var run = h.Engine.Submit(Graph.Create<Plain>(options), new Plain(5, probe));
        await h.Events.WaitForAsync(EventKind.Retry);

        Assert.That(h.Engine.Cancel(run.Id), Is.True);
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
        Assert.That(run.Error, Is.EqualTo($"OperationCanceledException: Run {run.Id} was cancelled."));
        Assert.That(probe.Calls, Is.EqualTo(1));
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task DisposeDuringBackoff_EndsEveryRunFinal(bool cancelRunsOnDispose)
    {
        var h = new ResilienceHarness(cancelRunsOnDispose);
        var options = new GraphOptions();
        options.Node<Plain>().Retry = new RetryPolicy { BaseDelay = TimeSpan.FromHours(1), MaxDelay = TimeSpan.FromHours(2) };
        var graph = Graph.Create<Plain>(options);
        var runs = Enumerable.Range(0, 5).Select(_ => h.Engine.Submit(graph, new Plain(5, new Probe()))).ToArray();
        await h.Events.WaitForAsync(EventKind.Retry, runs.Length);

        await h.DisposeAsync().AsTask().WaitAsync(Guard);
        Assert.That(runs.Select(r => r.State), Has.All.EqualTo(RunState.Cancelled));
        Assert.That(runs.Select(r => r.Completion.IsCompleted), Has.All.True);
        Assert.That(runs.Select(r => r.EndedAt), Has.All.Not.Null);
    }
}

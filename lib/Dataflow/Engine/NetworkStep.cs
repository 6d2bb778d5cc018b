using System.Collections.Frozen;
using System.Diagnostics;
using System.Reflection;
using System.Threading.Tasks.Dataflow;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// The compiled form of one node type: its block, and what executing its node means for a run (inputs, the node,
/// timing, effects, transition, hand-off). A step acts on a run only while it owns it (see <see cref="RunExecution"/>).
/// What happens when the node fails or runs past its timeout (retry, recovery route) is in
/// <c>NetworkStep.Resilience.cs</c>.
/// </summary>
internal sealed partial class NetworkStep
{
    private static readonly MethodInfo InvokeDefinition = typeof(NetworkStep).GetMethod(nameof(Invoke), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static readonly MethodInfo ResultOfDefinition = typeof(NetworkStep).GetMethod(nameof(ResultOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly IRunHost _host;
    private readonly Func<INode, NodeContext, (INode? Result, Task? Pending)>? _invoke;
    private readonly Func<Task, INode?>? _resultOf;
    private readonly KeyValuePair<string, object?> _tag;

    public NetworkStep(GraphNetwork network, GraphNode node)
    {
        Network = network;
        _host = network.Host;
        Node = node;
        Effects = network.Graph.Options.Effects.Where(e => e.Source == node.Type).GroupBy(e => e.Target).ToFrozenDictionary(g => g.Key, g => g.ToArray());
        Name = node.Name;
        NodeType = node.Type;
        _tag = new("dataflow.node", node.Name);
        if (node.Declared is not null)
        {
            _invoke = InvokeDefinition.MakeGenericMethod(node.Declared).CreateDelegate<Func<INode, NodeContext, (INode?, Task?)>>();
            _resultOf = ResultOfDefinition.MakeGenericMethod(node.Declared).CreateDelegate<Func<Task, INode?>>();
        }
    }

    public string Name { get; }

    public Type NodeType { get; }

    public GraphNode Node { get; }

    /// <summary>The effects on transitions out of this node, by target type, in the order attached.</summary>
    public FrozenDictionary<Type, TransitionEffect[]> Effects { get; }

    public GraphNetwork Network { get; }

    /// <summary>The step's block (for a step that does not block, one that forwards to <see cref="Queue"/>); null for a terminal node type.</summary>
    public ActionBlock<RunExecution>? Block { get; set; }

    /// <summary>
    /// What runs are posted to when the step's node code does not block: its queue and node slots (see
    /// <see cref="StepQueue"/>); null for a blocking step, whose <see cref="Block"/> runs on threads of its own.
    /// </summary>
    public StepQueue? Queue { get; set; }

    /// <summary>Hands a run to this step (its queue or its block). False when the network no longer takes runs.</summary>
    public bool Post(RunExecution run) => Queue?.Post(run) ?? Block!.Post(run);

    /// <summary>
    /// The block's action. It never throws: an exception here would fault the block and strand every run
    /// queued in it, so anything unexpected fails only the run at hand.
    /// </summary>
    /// <remarks>
    /// <para>The node is awaited here and nowhere else, so a run that waits in its nodes costs one state machine
    /// for its whole way through inline steps; what comes before and after a node only allocates when it
    /// has to wait (a full sink, a dependency, an effect).</para>
    /// <para>That state machine is kept small, as every run that waits allocates it: what only spans one step of
    /// the loop is not kept across an await, and every wait goes through the one <see cref="Task"/> local
    /// <c>pending</c> (a value task that did not complete at once is turned into a task, and its result read from
    /// it), so that one awaiter field serves them all instead of one field per value task's type.</para>
    /// </remarks>
    public async Task ExecuteAsync(RunExecution run)
    {
        if (!run.TryBeginStep())
        {
            // Cancelled and ended from outside while it waited in this step's queue.
            Queue?.Leave();
            return;
        }

        var step = this;
        Outcome outcome;
        Task pending;
        while (true)
        {
            Activity? activity = null;
            try
            {
                var before = step.BeforeAsync(run);
                (Outcome? Early, Activity? Span) prepared;
                if (before.IsCompletedSuccessfully)
                {
                    prepared = before.Result;
                }
                else
                {
                    pending = before.AsTask();
                    await pending.ConfigureAwait(false);
                    prepared = Completed<(Outcome?, Activity?)>(pending);
                }

                if (prepared.Early is { } stop)
                {
                    // Stopped, parked at gates or past the iteration limit before the node ran.
                    outcome = stop;
                }
                else
                {
                    activity = prepared.Span;
                    if (activity is not null)
                    {
                        // The node's span was started (and made current) inside BeforeAsync, whose flow is not this one.
                        Activity.Current = activity;
                    }

                    var started = _host.TimeProvider.GetTimestamp();
                    (INode? Next, Exception? Failure) result;
                    if (step.Node.Resilience.Timeout is { } timeout)
                    {
                        // Only a node with a timeout gets a token source of its own.
                        pending = step.InvokeTimedAsync(run, run.CurrentNode, timeout).AsTask();
                        await pending.ConfigureAwait(false);
                        result = Completed<(INode?, Exception?)>(pending);
                    }
                    else
                    {
                        try
                        {
                            (var next, var running) = step._invoke!(run.CurrentNode, run.Context);
                            if (running is null)
                            {
                                result = (next, null);
                            }
                            else
                            {
                                pending = running;
                                await pending.ConfigureAwait(false);
                                result = (step._resultOf!(pending), null);
                            }
                        }
                        catch (Exception e)
                        {
                            result = (null, e);
                        }
                    }

                    var after = step.AfterAsync(run, run.CurrentNode, result.Next, result.Failure, started, _host.TimeProvider.GetTimestamp(), activity);
                    if (after.IsCompletedSuccessfully)
                    {
                        outcome = after.Result;
                    }
                    else
                    {
                        pending = after.AsTask();
                        await pending.ConfigureAwait(false);
                        outcome = Completed<Outcome>(pending);
                    }
                }
            }
            catch (Exception e)
            {
                outcome = Outcome.End(RunState.Failed, null, e);
                RunInstrumentation.NodeSpanEnded(activity, RunState.Failed, e);
            }

            if (activity is not null)
            {
                // Ended by now; the next node's span (inline, or in another block) does not descend from it.
                Activity.Current = null;
            }

            // The run's visit of this step is over, whatever comes next (an inline next step holds a slot of its own).
            step.Queue?.Leave();
            if (outcome.Kind != OutcomeKind.Inline)
            {
                break;
            }

            step = outcome.Next!;
        }

        if (outcome.Kind != OutcomeKind.End)
        {
            return;
        }

        try
        {
            run.TakeForFinish();
            var finishing = _host.FinishAsync(run, outcome.State, outcome.Result, outcome.Error);
            if (finishing.IsCompletedSuccessfully)
            {
                return;
            }

            if (run.Durable is { } durable)
            {
                // A durable run's final checkpoint is committed outside the block: the node slot is free meanwhile.
                durable.TrackFinish(finishing, _host);
            }
            else
            {
                await finishing.ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // A bug in ending the run: kept for the engine's shutdown to rethrow, as nobody awaits a queued step.
            _host.Background.Failed(e);
        }
    }

    /// <summary>The result of a task that has been awaited to completion, seen through its non-generic base.</summary>
    private static T Completed<T>(Task completed)
#pragma warning disable VSTHRD002 // Not a wait: the caller has awaited the task to completion.
        => ((Task<T>)completed).Result;
#pragma warning restore VSTHRD002

    /// <summary>
    /// Starts a node. A node that finished synchronously gives its result at once; otherwise its pending task,
    /// whose result <see cref="ResultOf{TNext}"/> reads once it has completed. No wrapper state machine is needed.
    /// </summary>
    private static (INode? Result, Task? Pending) Invoke<TNext>(INode node, NodeContext context)
        where TNext : INode
    {
        var pending = ((INode<TNext>)node).RunAsync(context);
#pragma warning disable VSTHRD002 // Not a wait: the value task has completed successfully.
        return pending.IsCompletedSuccessfully ? (pending.Result, null) : (null, pending.AsTask());
#pragma warning restore VSTHRD002
    }

    /// <summary>The result of a node's task, read after it has been awaited to completion.</summary>
    private static INode? ResultOf<TNext>(Task completed)
        where TNext : INode
#pragma warning disable VSTHRD002 // Not a wait: the caller has awaited the task to completion.
        => ((Task<TNext>)completed).Result;
#pragma warning restore VSTHRD002

    private static bool IsCancellation(Exception e, RunExecution run) => e is OperationCanceledException && run.IsStopRequested;

    /// <summary>
    /// What comes before the node runs: the start event, cancellation, the iteration limit, then the node's span
    /// (null while nobody listens), inputs and gates.
    /// </summary>
    /// <returns>
    /// How the run goes on instead of running the node (the span, if any, already ended), or no outcome and the span
    /// of the attempt to run.
    /// </returns>
    private async ValueTask<(Outcome? Early, Activity? Span)> BeforeAsync(RunExecution run)
    {
        await _host.EmitStartAsync(run).ConfigureAwait(false);
        if (run.Durable is { Started: false } durable)
        {
            // Before the start node runs, so that a crash from here on resumes the run.
            await durable.StartedAsync(run).ConfigureAwait(false);
        }

        if (run.IsStopRequested)
        {
            return (Outcome.Stop(_host.Stopped(run)), null);
        }

        if (run.Attempt > 1)
        {
            // A retry, handed back by the backoff waiter: the visit was counted and its inputs are in place.
            return await BeforeRetryAsync(run).ConfigureAwait(false);
        }

        if (run.MaxIterations > 0 && run.Iterations >= run.MaxIterations)
        {
            return (Outcome.End(RunState.Failed, null, new IterationLimitExceededException(run.Id, run.MaxIterations)), null);
        }

        // The attempt's span covers its inputs: the dependencies computed now are its children.
        var span = RunInstrumentation.NodeStarted(run, Name, 1);
        var node = run.CurrentNode;
        if (!Node.Inputs.IsEmpty && !ReferenceEquals(run.PreparedNode, node))
        {
            try
            {
                await InputResolver.FillAsync(run, Node, node, _host.TimeProvider, span).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return (InputsFailed(run, e, span), null);
            }

            if (Node.Inputs.Gates.Count > 0 && run.Durable?.TakeGatesResolved() != true)
            {
                // Wait outside the network: the run gives back its node slot and its admission slot.
                RunInstrumentation.NodeParked(span);
                _host.ParkAtGates(run, this, node);
                return (Outcome.HandedOn, null);
            }

            run.PreparedNode = node;
        }

        run.Iterations++;
        return (null, span);
    }

    /// <summary>The node's inputs could not be filled: how the run ends, with the end of the node's span.</summary>
    private Outcome InputsFailed(RunExecution run, Exception e, Activity? span)
    {
        var outcome = IsCancellation(e, run) ? Outcome.Stop(_host.Stopped(run, e)) : Outcome.End(RunState.Failed, null, e);
        RunInstrumentation.NodeSpanEnded(span, outcome.State, outcome.Error);
        return outcome;
    }

    /// <summary>What comes after the node returned or threw: its timing, then the effects, the transition and the hand-off.</summary>
    private async ValueTask<Outcome> AfterAsync(RunExecution run, INode node, INode? next, Exception? failure, long started, long ended, Activity? activity)
    {
        var duration = _host.TimeProvider.GetElapsedTime(started, ended).TotalSeconds;
        if (failure is null && Node.Children is not null && next is IChildRunRequest request)
        {
            return StartChildren(run, request, node, started, ended, duration, activity);
        }

        NetworkStep? nextStep = null;
        if (failure is null && next is null)
        {
            failure = new NodeContractException($"Node '{Name}' returned null; RunAsync must return the next node.");
        }
        else if (failure is null && (nextStep = Network.StepFor(next!.GetType())) is null)
        {
            failure = new NodeContractException($"Node '{Name}' returned a '{next.GetType().Name}', which is not a node of this graph; declare it as a successor.");
        }

        if (failure is not null)
        {
            return await FailedAsync(run, node, failure, started, ended, duration, activity).ConfigureAwait(false);
        }

        run.Advance(started, ended, next);
        RunInstrumentation.NodeEnded(activity, _tag, duration, null, null);
        if (run.IsStopRequested)
        {
            // Stopped while the node ran, and the node did not notice: its result is discarded, even a terminal one.
            return Outcome.Stop(_host.Stopped(run));
        }

        if (Effects.TryGetValue(nextStep!.NodeType, out var effects))
        {
            foreach (var effect in effects)
            {
                try
                {
                    await effect.Invoke(node, next!, run.Context).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    return Outcome.End(RunState.Failed, null, new EffectException(effect.Name, e));
                }
            }
        }

        await _host.EmitTransitionAsync(run, Name, nextStep.Name).ConfigureAwait(false);
        if (run.Durable is { } durable && nextStep.Block is not null)
        {
            // The transition's checkpoint, before the hand-off (group commit: committed before the next node can run).
            return durable.MovedAsync(run) is { IsCompletedSuccessfully: true } ? HandOn(run, nextStep, next!) : HandOnWhenCommitted(durable, run, nextStep);
        }

        return HandOn(run, nextStep, next!);
    }
}

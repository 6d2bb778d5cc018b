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

    /// <summary>The step's block; null for a terminal node type.</summary>
    public ActionBlock<RunExecution>? Block { get; set; }

    /// <summary>
    /// Whether a run arriving from another step executes this step at once, in the same flow, instead of
    /// queueing in the block: true for an asynchronous node without a parallelism bound, where the block
    /// would enforce nothing and only add a hand-off. Runs in flight stay bounded by admission.
    /// </summary>
    public bool RunsInline { get; set; }

    /// <summary>
    /// The block's action. It never throws: an exception here would fault the block and strand every run
    /// queued in it, so anything unexpected fails only the run at hand.
    /// </summary>
    /// <remarks>
    /// The node is awaited here and nowhere else, so a run that waits in its nodes costs one state machine
    /// for its whole way through inline steps; what comes before and after a node only allocates when it
    /// has to wait (a full sink, a dependency, an effect).
    /// </remarks>
    public async Task ExecuteAsync(RunExecution run)
    {
        if (!run.TryBeginStep())
        {
            // Cancelled and ended from outside while it waited in this block's buffer.
            return;
        }

        var step = this;
        Outcome outcome;
        while (true)
        {
            Activity? activity = null;
            try
            {
                (var early, activity) = await step.BeforeAsync(run).ConfigureAwait(false);
                if (early is { } stop)
                {
                    outcome = stop;
                    break;
                }

                var node = run.CurrentNode;
                var time = _host.TimeProvider;
                if (activity is not null)
                {
                    // The node's span was started (and made current) inside BeforeAsync, whose flow is not this one.
                    Activity.Current = activity;
                }

                var started = time.GetTimestamp();
                INode? next = null;
                Exception? failure = null;
                run.Context.Attempt = run.Attempt;
                if (step.Node.Resilience.Timeout is { } timeout)
                {
                    // Only a node with a timeout gets a token source of its own.
                    (next, failure) = await step.InvokeTimedAsync(run, node, timeout).ConfigureAwait(false);
                }
                else
                {
                    try
                    {
                        var (result, pending) = step._invoke!(node, run.Context);
                        if (pending is not null)
                        {
                            await pending.ConfigureAwait(false);
                            result = step._resultOf!(pending);
                        }

                        next = result;
                    }
                    catch (Exception e)
                    {
                        failure = e;
                    }
                }

                outcome = await step.AfterAsync(run, node, next, failure, started, time.GetTimestamp(), activity).ConfigureAwait(false);
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

            if (outcome.Kind != OutcomeKind.Inline)
            {
                break;
            }

            step = outcome.Next!;
        }

        if (outcome.Kind == OutcomeKind.End)
        {
            run.TakeForFinish();
            var finishing = _host.FinishAsync(run, outcome.State, outcome.Result, outcome.Error);
            if (run.Durable is not null && !finishing.IsCompleted)
            {
                // A durable run's final checkpoint is committed outside the block: the node slot is free meanwhile.
                _host.Background.Track(finishing.AsTask());
            }
            else
            {
                await finishing.ConfigureAwait(false);
            }
        }
    }

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

        run.Context.Iteration = run.Iterations;
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

    /// <summary>
    /// Hands a durable run on once its transition's checkpoint is committed, waiting outside the block so that the node
    /// slot serves other runs meanwhile (their checkpoints then join the same group commit). The waiter owns the run.
    /// </summary>
    private Outcome HandOnWhenCommitted(Checkpoints.DurableRun durable, RunExecution run, NetworkStep nextStep)
    {
        _host.Background.Track(WaitAndPostAsync(durable.PendingSave, run, nextStep));
        return Outcome.HandedOn;
    }

    private async Task WaitAndPostAsync(ValueTask saving, RunExecution run, NetworkStep nextStep)
    {
        try
        {
            await saving.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            run.TakeForFinish();
            await _host.FinishAsync(run, RunState.Failed, null, e).ConfigureAwait(false);
            return;
        }

        run.HandOff();
        if (!nextStep.Block!.Post(run) && run.TryTakeIdle())
        {
            var stop = _host.Stopped(run);
            await _host.FinishAsync(run, stop.State, null, stop.Error).ConfigureAwait(false);
        }
    }

    /// <summary>Moves the run on to <paramref name="next"/>, a node of <paramref name="nextStep"/>: ends it there, runs it inline, or posts it.</summary>
    private Outcome HandOn(RunExecution run, NetworkStep nextStep, INode next)
    {
        if (nextStep.Block is null)
        {
            return Outcome.End(RunState.Done, next, null);
        }

        if (RunsInline && nextStep.RunsInline)
        {
            // Neither step bounds its parallelism, so no slot is held by running the next one here.
            return Outcome.Inline(nextStep);
        }

        run.HandOff();
        if (nextStep.Block.Post(run))
        {
            return Outcome.HandedOn;
        }

        // The engine stopped taking work (only its shutdown completes blocks, after runs have left), or a canceller
        // took the run the moment it was Idle.
        return run.TryTakeIdle() ? Outcome.Stop(_host.Stopped(run)) : Outcome.HandedOn;
    }

    private enum OutcomeKind
    {
        /// <summary>The run is in another block's buffer, waits at a gate, or was taken by a canceller: nothing more to do here.</summary>
        HandedOn,

        /// <summary>The run ends here: the step takes it for good and finishes it.</summary>
        End,

        /// <summary>The next step runs inline: execute it now, still owning the run.</summary>
        Inline,
    }

    /// <summary>What a step did with its run.</summary>
    private readonly record struct Outcome(OutcomeKind Kind, RunState State, INode? Result, Exception? Error, NetworkStep? Next = null)
    {
        public static Outcome HandedOn => new(OutcomeKind.HandedOn, default, null, null);

        public static Outcome End(RunState state, INode? result, Exception? error) => new(OutcomeKind.End, state, result, error);

        public static Outcome Stop(RunStop stop) => new(OutcomeKind.End, stop.State, null, stop.Error);

        public static Outcome Inline(NetworkStep next) => new(OutcomeKind.Inline, default, null, null, next);
    }
}

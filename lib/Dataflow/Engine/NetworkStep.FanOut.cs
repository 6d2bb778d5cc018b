using System.Diagnostics;
using System.Reflection;
using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Engine;

/// <summary>
/// A step whose node returned a fan-out or a subgraph: the run parks while its children run (see
/// <see cref="FanOutWait"/>), then goes on here at the join, at its recovery node, or ends.
/// </summary>
internal sealed partial class NetworkStep
{
    /// <summary>The node returned <paramref name="request"/>: record its timing, then park the run while its children run.</summary>
    private Outcome StartChildren(RunExecution run, IChildRunRequest request, INode node, long started, long ended, double duration, Activity? activity)
    {
        run.Advance(started, ended, null);
        RunInstrumentation.NodeEnded(activity, _tag, duration, null, null);
        if (run.IsStopRequested)
        {
            return Outcome.Stop(_host.Stopped(run));
        }

        if ((Node.Children!.Subgraph is { } graph ? _host.NetworkFor(graph) : Network) is not { } network)
        {
            // The engine is disposed: the subgraph's network can no longer be made.
            run.RequestCancel();
            return Outcome.Stop(_host.Stopped(run));
        }

        _host.ParkForChildren(run, this, node, request, network);
        return Outcome.HandedOn;
    }

    /// <summary>
    /// Goes on after the children of <paramref name="node"/> ended: to <paramref name="next"/> (the join, or a subgraph's
    /// next node), or, when <paramref name="error"/> says the fan-out failed, to the node's recovery node or the run's end.
    /// The caller owns the parked run and gives it up here. Never throws.
    /// </summary>
    internal async Task ContinueAfterChildrenAsync(RunExecution run, INode node, INode? next, Exception? error, ChildRunGroup children)
    {
        NodeFailure? handed = null;
        if (error is not null)
        {
            if (Node.Resilience.RecoveryConstructor is not { } constructor)
            {
                await EndAsync(run, RunState.Failed, null, error).ConfigureAwait(false);
                return;
            }

            handed = new NodeFailure(run.Id, error, node, Name, 1);
            try
            {
                next = (INode)constructor.Invoke([handed]);
            }
            catch (TargetInvocationException e)
            {
                await EndAsync(run, RunState.Failed, null, new NodeContractException($"Recovery node '{constructor.DeclaringType!.Name}' of node '{Name}' could not be created: {e.InnerException?.GetType().Name}: {e.InnerException?.Message}; the node failed with {error.GetType().Name}: {error.Message}")).ConfigureAwait(false);
                return;
            }
        }

        if (Network.StepFor(next!.GetType()) is not { } nextStep)
        {
            await EndAsync(run, RunState.Failed, null, new NodeContractException($"The join of node '{Name}' returned a '{next.GetType().Name}', which is not a node of this graph; declare it as a successor.")).ConfigureAwait(false);
            return;
        }

        run.MoveTo(next);
        try
        {
            if (handed is null)
            {
                if (Effects.TryGetValue(nextStep.NodeType, out var effects))
                {
                    foreach (var effect in effects)
                    {
                        try
                        {
                            await effect.Invoke(node, next, run.Context).ConfigureAwait(false);
                        }
                        catch (Exception e)
                        {
                            await EndAsync(run, RunState.Failed, null, new EffectException(effect.Name, e)).ConfigureAwait(false);
                            return;
                        }
                    }
                }

                await _host.EmitJoinAsync(run, Name, nextStep.Name, children).ConfigureAwait(false);
            }
            else
            {
                await _host.EmitRecoveryAsync(run, nextStep.Name, handed).ConfigureAwait(false);
            }

            if (nextStep.Block is null)
            {
                await EndAsync(run, RunState.Done, next, null).ConfigureAwait(false);
                return;
            }

            if (run.Durable is { } durable)
            {
                // The move to the join (or recovery node) is checkpointed before it can run: resumed, it runs once more at most.
                await durable.MovedAsync(run).ConfigureAwait(false);
            }

            run.ResumeFromChildren(await Network.EnterAsync(run.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            // Stopped while it waited for admission (or, unexpectedly, anything else): the run is still parked, and ends here.
            var stop = e is OperationCanceledException && run.IsStopRequested ? _host.Stopped(run) : new RunStop(RunState.Failed, e);
            await EndAsync(run, stop.State, null, stop.Error).ConfigureAwait(false);
            return;
        }

        // The run is Idle with a new slot: post it to the join's step, or, if the network no longer takes runs, end it.
        if (!nextStep.Post(run) && run.TryTakeIdle())
        {
            var stop = _host.Stopped(run);
            await _host.FinishAsync(run, stop.State, null, stop.Error).ConfigureAwait(false);
        }
    }

    /// <summary>Ends a parked run: its parker takes it for good.</summary>
    private ValueTask EndAsync(RunExecution run, RunState state, INode? result, Exception? error)
    {
        run.TakeForFinish();
        return _host.FinishAsync(run, state, result, error);
    }
}

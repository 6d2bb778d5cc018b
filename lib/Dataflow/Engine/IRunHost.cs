using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// What a compiled network needs from the engine that hosts it, and no more: the clock, the run's events, gates,
/// and ending runs. <see cref="RunLifecycle"/> implements it.
/// </summary>
internal interface IRunHost
{
    TimeProvider TimeProvider { get; }

    /// <summary>Publishes the run's start event, once.</summary>
    ValueTask EmitStartAsync(RunExecution run);

    /// <summary>Publishes a transition event.</summary>
    ValueTask EmitTransitionAsync(RunExecution run, string from, string to);

    /// <summary>
    /// Ends a run its caller has taken for good (<see cref="RunOwner.Finishing"/>): final state, final event, registry,
    /// telemetry, admission slot, completion.
    /// </summary>
    ValueTask FinishAsync(RunExecution run, RunState state, INode? result, Exception? error);

    /// <summary>Parks an executing run at the gates of <paramref name="node"/>, outside the network.</summary>
    void ParkAtGates(RunExecution run, NetworkStep step, INode node);

    /// <summary>Cancels a run from outside, whoever owns it. False when it had ended.</summary>
    bool Cancel(RunExecution run);

    /// <summary>The error a cancelled run records.</summary>
    OperationCanceledException CancelledError(RunExecution run);
}

using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Engine;

/// <summary>
/// What a compiled network needs from the engine that hosts it, and no more: the clock, the run's events, gates,
/// backoffs, and ending runs. <see cref="RunLifecycle"/> implements it.
/// </summary>
internal interface IRunHost
{
    TimeProvider TimeProvider { get; }

    /// <summary>The engine's services (<see cref="GraphEngineOptions.Services"/>): a run's, unless it has its own.</summary>
    IServiceProvider? Services { get; }

    /// <summary>The id of this engine's run number <paramref name="number"/>, formatted when first read.</summary>
    string FormatRunId(long number);

    /// <summary>Where work that outlives a step is tracked (and awaited on shutdown).</summary>
    BackgroundWork Background { get; }

    /// <summary>Publishes the run's start event, once.</summary>
    ValueTask EmitStartAsync(RunExecution run);

    /// <summary>Publishes a transition event.</summary>
    ValueTask EmitTransitionAsync(RunExecution run, string from, string to);

    /// <summary>
    /// Ends a run its caller has taken for good (<see cref="RunOwner.Finishing"/>): final state, final event, registry,
    /// telemetry, admission slot, completion.
    /// </summary>
    ValueTask FinishAsync(RunExecution run, RunState state, INode? result, Exception? error);

    /// <summary>
    /// Goes on with a durable run whose checkpoint save ended (<see cref="Checkpoints.DurableRun.HandOnWhenSaved"/>):
    /// posts it to <paramref name="next"/>, or ends it when the save failed (<paramref name="failure"/>) or the block
    /// takes no more runs. <paramref name="start"/>: the save was the start checkpoint, so the run has not started.
    /// </summary>
    void Saved(RunExecution run, NetworkStep next, bool start, Exception? failure);

    /// <summary>Parks an executing run at the gates of <paramref name="node"/>, outside the network.</summary>
    void ParkAtGates(RunExecution run, NetworkStep step, INode node);

    /// <summary>
    /// Parks an executing run whose attempt <paramref name="attempt"/> failed with <paramref name="error"/>, outside the
    /// network, for <paramref name="delay"/> (publishing the retry event); then posts it back to <paramref name="step"/>
    /// for its next attempt.
    /// </summary>
    void ParkForBackoff(RunExecution run, NetworkStep step, int attempt, TimeSpan delay, Exception error);

    /// <summary>
    /// Parks an executing run whose node <paramref name="node"/> returned <paramref name="request"/>, outside the network,
    /// while its children run in <paramref name="network"/>; then continues it at the join (or ends it).
    /// </summary>
    void ParkForChildren(RunExecution run, NetworkStep step, INode node, IChildRunRequest request, GraphNetwork network);

    /// <summary>Publishes the transition of a run whose children ended to its join (or a subgraph's next node).</summary>
    ValueTask EmitJoinAsync(RunExecution run, string from, string to, ChildRunGroup children);

    /// <summary>The engine's network of <paramref name="graph"/> (a subgraph), made on first use; null once the engine is disposed.</summary>
    GraphNetwork? NetworkFor(Graph graph);

    /// <summary>Publishes the transition of a failed node to its recovery node, with the error.</summary>
    ValueTask EmitRecoveryAsync(RunExecution run, string to, NodeFailure failure);

    /// <summary>Cancels a run from outside, whoever owns it. False when it had ended.</summary>
    bool Cancel(RunExecution run);

    /// <summary>Stops a run that passed its deadline, whoever owns it (the deadline timer calls this).</summary>
    void Expire(RunExecution run);

    /// <summary>
    /// The one answer to "the run's token fired: how does it end?": Failed with
    /// <see cref="Resilience.RunDeadlineExceededException"/> after its deadline, else Cancelled with
    /// <paramref name="observed"/> (what the node threw on seeing its token) or the engine's cancellation error.
    /// </summary>
    RunStop Stopped(RunExecution run, Exception? observed = null);
}

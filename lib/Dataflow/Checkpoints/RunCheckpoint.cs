namespace Dataflow.Checkpoints;

/// <summary>Where a checkpointed run stands: active (<see cref="Running"/>, <see cref="Waiting"/>) or final.</summary>
public enum CheckpointState
{
    /// <summary>The run is in flight: its next node (<see cref="RunCheckpoint.Node"/>) has not run yet, or was running.</summary>
    Running,

    /// <summary>The run waits at the gates of its next node.</summary>
    Waiting,

    /// <summary>Final: the run reached a terminal node (<see cref="RunCheckpoint.Node"/>).</summary>
    Done,

    /// <summary>Final: the run failed at <see cref="RunCheckpoint.Node"/>.</summary>
    Failed,

    /// <summary>Final: the run was cancelled at <see cref="RunCheckpoint.Node"/>.</summary>
    Cancelled,

    /// <summary>
    /// The run waits for the child runs of the fan-out or subgraph that <see cref="RunCheckpoint.Node"/> returned;
    /// <see cref="RunCheckpoint.Children"/> holds what it needs to go on.
    /// </summary>
    AwaitingChildren,
}

/// <summary>
/// When a run moves on relative to its checkpoint's commit. Chosen per engine with
/// <c>GraphEngineOptions.CheckpointCommit</c>.
/// </summary>
public enum CheckpointCommitMode
{
    /// <summary>
    /// A run is handed on only after its checkpoint is committed. Checkpoints of many runs that wait at the same moment
    /// share one transaction (group commit), so a transaction's cost is spread over all of them. After a crash only the
    /// nodes that were executing run again. The default.
    /// </summary>
    GroupCommit,

    /// <summary>
    /// A run is handed on as soon as its checkpoint is queued; the store writes it behind. Faster, but a crash loses the
    /// checkpoints not yet committed (at most the store's queue, typically the last few milliseconds), so the nodes run
    /// since the last committed checkpoint of a run run again after resume.
    /// </summary>
    WriteBehind,
}

/// <summary>
/// A run's resumable state after a transition: what the engine writes to an <see cref="ICheckpointStore"/> and reads
/// back to resume or rerun it. Nodes are stored as JSON (System.Text.Json) with their type's name in the graph.
/// </summary>
/// <param name="RunId">The run.</param>
/// <param name="Sequence">The checkpoint's number within its run, from 0 (the start), one more per checkpoint.</param>
/// <param name="Graph">The graph's identity: its start node type's full name.</param>
/// <param name="Fingerprint">The fingerprint of the graph's node types, their stored members and edges.</param>
/// <param name="State">Where the run stands.</param>
/// <param name="Step">The position of <paramref name="NodeType"/> in the run's trace, from 0 (the start node).</param>
/// <param name="NodeType">The name in the graph of the node's type.</param>
/// <param name="Node">The next node (for a final state: the node the run ended at), as JSON.</param>
/// <param name="Timestamp">When the checkpoint was made.</param>
public sealed record RunCheckpoint(
    string RunId,
    int Sequence,
    string Graph,
    string Fingerprint,
    CheckpointState State,
    int Step,
    string NodeType,
    string Node,
    DateTimeOffset Timestamp)
{
    /// <summary>The run's start node and the earlier nodes of the trace that a <c>[Recall]</c> input can reach, as a
    /// JSON array of <c>{"t": type name, "v": node}</c>, oldest first; null while the run is at its start node.</summary>
    public string? Trace { get; init; }

    /// <summary>The gates the run waits at (state <see cref="CheckpointState.Waiting"/>), as a JSON array of gate ids; null otherwise.</summary>
    public string? Gates { get; init; }

    /// <summary>Whether the node's gates are resolved (their values are in <see cref="Node"/>): resumed, it does not wait again.</summary>
    public bool GatesResolved { get; init; }

    /// <summary>The number of the run's next gate; a run resumed at a gate gets the same gate ids again.</summary>
    public int GateNumber { get; init; }

    /// <summary>The nodes the run has executed so far (its iteration count).</summary>
    public int Iterations { get; init; }

    /// <summary>The run's options (policy, iteration limit, deadline), as JSON.</summary>
    public string? Options { get; init; }

    /// <summary>For a failed or cancelled run: <c>ExceptionType: message</c>.</summary>
    public string? Error { get; init; }

    /// <summary>The run this one reruns, if it is a rerun.</summary>
    public string? RerunOf { get; init; }

    /// <summary>For a child run of a fan-out or subgraph: its parent run's id (its own id is that, a slash and a number).</summary>
    public string? Parent { get; init; }

    /// <summary>How many child numbers the run has used so far: its next fan-out's first child is numbered one more.</summary>
    public int ChildNumber { get; init; }

    /// <summary>
    /// With <see cref="CheckpointState.AwaitingChildren"/>: the fan-out the run waits for, as JSON: its policy
    /// (<c>"policy"</c>), bound on children in flight (<c>"max"</c>), first child number (<c>"first"</c>) and the
    /// children's start nodes in item order (<c>"items"</c>, each <c>{"t": type name, "v": node}</c>); null otherwise.
    /// </summary>
    public string? Children { get; init; }

    /// <summary>Whether <see cref="State"/> is final.</summary>
    public bool IsFinal => State is CheckpointState.Done or CheckpointState.Failed or CheckpointState.Cancelled;
}

/// <summary>What a store holds for one graph when its runs are resumed.</summary>
/// <param name="Unfinished">The latest checkpoint of every run that has not reached a final state.</param>
/// <param name="Finished">How many runs of the graph reached a final state.</param>
public sealed record ResumableRuns(IReadOnlyList<RunCheckpoint> Unfinished, long Finished);

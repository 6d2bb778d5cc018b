namespace Dataflow.Npgsql.Jobs;

/// <summary>Where a queued input stands. Every input ends in exactly one final state: done, failed or cancelled.</summary>
public enum JobItemState
{
    /// <summary>Waiting for a worker.</summary>
    Queued,

    /// <summary>Claimed by a worker until its lease expires (renewed by the worker's heartbeat).</summary>
    Leased,

    /// <summary>Final: its run reached a terminal node; the result is the terminal node as JSON.</summary>
    Done,

    /// <summary>Final: its run failed, or its input could not be read as a start node.</summary>
    Failed,

    /// <summary>Final: its run was cancelled (not by a worker's shutdown, which leaves it resumable).</summary>
    Cancelled,
}

/// <summary>How far a job is: its inputs counted by state.</summary>
/// <param name="Job">The job's name.</param>
/// <param name="Graph">The graph's identity (its start node type's full name).</param>
/// <param name="CreatedAt">When the job was submitted.</param>
/// <param name="Total">How many inputs the job has.</param>
/// <param name="Queued">Inputs waiting for a worker.</param>
/// <param name="Leased">Inputs claimed by a worker and not finished.</param>
/// <param name="Done">Inputs whose run is done.</param>
/// <param name="Failed">Inputs whose run failed (or whose input could not be read).</param>
/// <param name="Cancelled">Inputs whose run was cancelled.</param>
public sealed record JobProgress(string Job, string Graph, DateTimeOffset CreatedAt, long Total, long Queued, long Leased, long Done, long Failed, long Cancelled)
{
    /// <summary>Whether every input reached a final state.</summary>
    public bool IsFinished => Queued == 0 && Leased == 0;
}

/// <summary>One worker process as the queue knows it.</summary>
/// <param name="Id">The worker's id (host, process id and a random suffix, unless chosen).</param>
/// <param name="Host">The machine it runs on.</param>
/// <param name="ProcessId">Its process id on that machine.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="HeartbeatAt">Its latest heartbeat; a worker whose heartbeat is older than a lease is probably dead.</param>
/// <param name="StoppedAt">When it stopped cleanly; null while it runs (or after it died).</param>
/// <param name="Leased">Inputs it holds leases on now.</param>
/// <param name="Done">Inputs it finished as done.</param>
/// <param name="Failed">Inputs it finished as failed.</param>
/// <param name="Cancelled">Inputs it finished as cancelled.</param>
/// <param name="TakenOver">Inputs it claimed after another worker's lease expired.</param>
public sealed record WorkerProgress(string Id, string Host, int ProcessId, DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt, DateTimeOffset? StoppedAt, long Leased, long Done, long Failed, long Cancelled, long TakenOver);

/// <summary>One input of a job and where it stands.</summary>
/// <param name="Line">Its position in the job's inputs, from 1.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Input">The start node as JSON.</param>
/// <param name="RunId">The durable run made for it, once its start checkpoint is committed.</param>
/// <param name="Result">For a done input: the terminal node as JSON.</param>
/// <param name="Error">For a failed or cancelled input: <c>ExceptionType: message</c>.</param>
/// <param name="Worker">The worker that holds it or finished it.</param>
/// <param name="Attempts">How many times it was claimed (more than once after a worker died or released it).</param>
public sealed record JobItem(long Line, JobItemState State, string Input, string? RunId, string? Result, string? Error, string? Worker, int Attempts);

/// <summary>What one <see cref="Worker.RunAsync"/> did.</summary>
/// <param name="Done">Inputs it finished as done.</param>
/// <param name="Failed">Inputs it finished as failed.</param>
/// <param name="Cancelled">Inputs it finished as cancelled.</param>
/// <param name="TakenOver">Inputs it claimed after another worker's lease expired (their runs resumed from their checkpoints, or recorded if they had finished).</param>
/// <param name="Released">Inputs it gave back unfinished when it was stopped (their runs stay resumable).</param>
public sealed record WorkerSummary(long Done, long Failed, long Cancelled, long TakenOver, long Released);

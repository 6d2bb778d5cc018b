namespace Dataflow.Checkpoints;

/// <summary>
/// Where durable runs keep their checkpoints: the seam between the engine and a store backend such as
/// <c>Dataflow.Sqlite.SessionStore.Checkpoints</c>. A backend writes checkpoints through its batch writer, many in one
/// transaction, and never reaches into the engine. Thread-safe.
/// </summary>
public interface ICheckpointStore
{
    /// <summary>
    /// Reserves a prefix for the run ids of one engine, unique among every engine and process that shares the store
    /// (such as <c>d7</c>: runs are then <c>d7-1</c>, <c>d7-2</c>, …).
    /// </summary>
    /// <returns>The prefix: letters and digits.</returns>
    string ReserveRunIdPrefix();

    /// <summary>Records what a graph's fingerprint stands for, once per fingerprint, so that a changed graph can be described.</summary>
    /// <param name="graph">The graph's identity (its start node type's full name).</param>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <param name="description">One line per node type: its name, stored members and successors.</param>
    /// <param name="cancellationToken">Stops waiting for room in the queue.</param>
    /// <returns>A task that completes when the description is queued.</returns>
    ValueTask SaveGraphAsync(string graph, string fingerprint, string description, CancellationToken cancellationToken = default);

    /// <summary>Queues a checkpoint; with <see cref="CheckpointCommitMode.GroupCommit"/>, completes only once it is committed.</summary>
    /// <param name="checkpoint">The checkpoint.</param>
    /// <param name="mode">Whether to wait for the commit (group commit) or only for room in the queue (write-behind).</param>
    /// <param name="cancellationToken">Stops waiting; the checkpoint may still be written.</param>
    /// <returns>A task that completes when the checkpoint is committed (group commit) or queued (write-behind).</returns>
    ValueTask SaveAsync(RunCheckpoint checkpoint, CheckpointCommitMode mode, CancellationToken cancellationToken = default);

    /// <summary>Waits until every checkpoint queued before this call is committed.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when they are committed.</returns>
    Task FlushAsync(CancellationToken cancellationToken = default);

    /// <summary>The latest checkpoint of every unfinished run of <paramref name="graph"/>, and how many of its runs finished.</summary>
    /// <param name="graph">The graph's identity.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The unfinished runs and the count of finished ones.</returns>
    Task<ResumableRuns> LoadResumableAsync(string graph, CancellationToken cancellationToken = default);

    /// <summary>Every committed checkpoint of one run, oldest first; empty when the store knows no such run.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The checkpoints.</returns>
    Task<IReadOnlyList<RunCheckpoint>> LoadRunAsync(string runId, CancellationToken cancellationToken = default);

    /// <summary>The latest committed checkpoint of each of <paramref name="runIds"/> that the store knows, in no order.</summary>
    /// <param name="runIds">The runs, such as the children of a parent that waits for them.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>One checkpoint per known run; runs the store does not know are left out.</returns>
    Task<IReadOnlyList<RunCheckpoint>> LoadLatestAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken = default);

    /// <summary>The description recorded for a fingerprint (<see cref="SaveGraphAsync"/>); null when none was.</summary>
    /// <param name="fingerprint">The fingerprint.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The description, or null.</returns>
    Task<string?> GraphDescriptionAsync(string fingerprint, CancellationToken cancellationToken = default);
}

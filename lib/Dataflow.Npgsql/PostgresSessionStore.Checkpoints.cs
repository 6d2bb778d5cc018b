using Dataflow.Checkpoints;
using Dataflow.Npgsql.Checkpoints;

namespace Dataflow.Npgsql;

/// <summary>Durable runs: the store's checkpoints, in the same schema as its history.</summary>
public sealed partial class PostgresSessionStore
{
    private readonly Lock _checkpointsGate = new();
    private PostgresCheckpointStore? _checkpoints;
    private bool _checkpointsClosed;

    /// <summary>
    /// The checkpoints of durable runs, in this store's schema: hand it to <c>GraphEngineOptions.Checkpoints</c>. Any
    /// process on any machine that opens the same database and schema can resume the runs. Made on first use, with a
    /// batch writer of its own (group commit: checkpoints queued while one transaction commits share the next);
    /// disposed with the store.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public ICheckpointStore Checkpoints => CheckpointStore;

    /// <summary>The checkpoint store as its own type, for the work queue's workers.</summary>
    internal PostgresCheckpointStore CheckpointStore
    {
        get
        {
            lock (_checkpointsGate)
            {
                ObjectDisposedException.ThrowIf(_checkpointsClosed || Volatile.Read(ref _disposed) != 0, this);
                return _checkpoints ??= new PostgresCheckpointStore(_database, SessionId, _time, Report);
            }
        }
    }

    /// <summary>Every committed checkpoint of one durable run, oldest first; empty when the store has none of that run.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The checkpoints.</returns>
    /// <exception cref="StoreException">The database cannot be read.</exception>
    public Task<IReadOnlyList<RunCheckpoint>> RunCheckpointsAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return CheckpointStore.LoadRunAsync(runId, cancellationToken);
    }

    /// <summary>
    /// The durable runs of a graph that failed in one session and have not been rerun, oldest first: what
    /// <c>dataflow rerun --failed</c> reruns.
    /// </summary>
    /// <param name="graph">The graph's identity: its start node type's full name.</param>
    /// <param name="sessionId">The session; null for the latest session that has such runs.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The run ids; empty when there are none.</returns>
    /// <exception cref="StoreException">The database cannot be read.</exception>
    public Task<IReadOnlyList<string>> FailedRunsAsync(string graph, string? sessionId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return CheckpointStore.FailedRunsAsync(graph, sessionId, cancellationToken);
    }

    private async ValueTask DisposeCheckpointsAsync()
    {
        PostgresCheckpointStore? checkpoints;
        lock (_checkpointsGate)
        {
            checkpoints = _checkpoints;
            _checkpointsClosed = true;
        }

        if (checkpoints is not null)
        {
            await checkpoints.DisposeAsync().ConfigureAwait(false);
        }
    }
}

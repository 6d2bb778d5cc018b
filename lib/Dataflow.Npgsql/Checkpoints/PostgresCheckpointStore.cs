using Dapper;
using Dataflow.Checkpoints;
using Dataflow.Storage;
using Npgsql;

namespace Dataflow.Npgsql.Checkpoints;

/// <summary>
/// The checkpoints of durable runs in a PostgreSQL store (<see cref="PostgresSessionStore.Checkpoints"/>), in the same
/// schema as the history, so that any process on any machine can resume any run. Written by a
/// <see cref="BatchWriter{T}"/> of their own, each batch in one transaction on a pooled connection. Group commit as in
/// the SQLite store: a batch gathers for <see cref="CommitDelay"/> (or until it holds 2,048 checkpoints), so the
/// checkpoints of the runs that wait at the same moment share one transaction. Thread-safe.
/// </summary>
internal sealed class PostgresCheckpointStore : ICheckpointStore, IAsyncDisposable
{
    /// <summary>
    /// How long a batch gathers checkpoints before it is written. A round trip to the server costs more than an SQLite
    /// commit, so runs that just got their commit are back with their next checkpoint well within this time.
    /// </summary>
    internal static readonly TimeSpan CommitDelay = TimeSpan.FromMilliseconds(2);

    private readonly PostgresDatabase _database;
    private readonly string _sessionId;
    private readonly BatchWriter<CheckpointWrite> _writer;
    private readonly CheckpointTarget _target;
    private string? _servingWorker;

    public PostgresCheckpointStore(PostgresDatabase database, string sessionId, TimeProvider time, Action<BatchWriteFailure> onFailure)
    {
        _database = database;
        _sessionId = sessionId;
        _target = new CheckpointTarget(database);
        _writer = new BatchWriter<CheckpointWrite>(_target, new BatchWriterOptions
        {
            BatchSize = 2048,
            FlushInterval = CommitDelay,
            QueueCapacity = 8192,
            TimeProvider = time,
            OnFailure = onFailure,
            StoppedError = error => new StoreException($"The checkpoints of the session store ({database.Target}) stopped being written after an error: {error.Message}", error),
        });
    }

    public BatchWriterHealth Health => _writer.Health;

    /// <summary>
    /// Makes a run's final checkpoint finish the queue item that <paramref name="workerId"/> leases for it (see
    /// <see cref="CheckpointTarget"/>), until <see cref="StopServingQueue"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another worker serves the queue from this store.</exception>
    public void ServeQueue(string workerId)
    {
        if (Interlocked.CompareExchange(ref _servingWorker, workerId, null) is { } other)
        {
            throw new InvalidOperationException($"Worker '{other}' already works from this store; give each worker a store of its own.");
        }

        _target.QueueWorker = workerId;
    }

    /// <summary>Ends <see cref="ServeQueue"/>, after the worker's runs ended and their checkpoints were flushed.</summary>
    public void StopServingQueue(string workerId)
    {
        if (Interlocked.CompareExchange(ref _servingWorker, null, workerId) == workerId)
        {
            _target.QueueWorker = null;
            _target.Ties.Clear();
        }
    }

    /// <summary>
    /// Tells the writer which queue item a run the serving worker resumes is for (a run it starts is tied by its start
    /// checkpoint), so that its checkpoints are fenced on that item's lease and its final one finishes the item.
    /// </summary>
    public void Tie(string runId, long item) => _target.Ties.Tie(runId, item);

    /// <summary>Forgets a tie made by <see cref="Tie"/> whose run was not resumed after all.</summary>
    public void Untie(string runId) => _target.Ties.Untie(runId);

    /// <summary>The writer's ties (for tests).</summary>
    internal QueueTies Ties => _target.Ties;

    public string ReserveRunIdPrefix()
    {
        // Called once, when an engine is made (the seam is synchronous there): one short query on a pooled connection.
        try
        {
            using var connection = _database.Open("reserve a run id prefix in");
            var id = connection.ExecuteScalar<long>($"SELECT nextval('{_database.Table("run_prefixes")}')");
            return "p" + Base36(id);
        }
        catch (NpgsqlException ex)
        {
            throw _database.Error(ex, "reserve a run id prefix in");
        }
    }

    public ValueTask SaveGraphAsync(string graph, string fingerprint, string description, CancellationToken cancellationToken = default)
    {
        var write = new CheckpointWrite
        {
            RunId = string.Empty,
            SessionId = _sessionId,
            Graph = graph,
            Fingerprint = fingerprint,
            State = string.Empty,
            NodeType = string.Empty,
            Node = string.Empty,
            Description = description,
        };
        return _writer.EnqueueAsync(write, cancellationToken);
    }

    public ValueTask SaveAsync(RunCheckpoint checkpoint, CheckpointCommitMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var write = new CheckpointWrite
        {
            RunId = checkpoint.RunId,
            Seq = checkpoint.Sequence,
            SessionId = _sessionId,
            Graph = checkpoint.Graph,
            Fingerprint = checkpoint.Fingerprint,
            State = checkpoint.State.ToString(),
            Step = checkpoint.Step,
            NodeType = checkpoint.NodeType,
            Node = PgText.Clean(checkpoint.Node),
            Trace = PgText.CleanOrNull(checkpoint.Trace),
            Gates = checkpoint.Gates,
            GatesResolved = checkpoint.GatesResolved,
            GateNumber = checkpoint.GateNumber,
            Iterations = checkpoint.Iterations,
            Options = checkpoint.Options,
            Error = PgText.CleanOrNull(checkpoint.Error),
            RerunOf = checkpoint.RerunOf,
            Parent = checkpoint.Parent,
            ChildNumber = checkpoint.ChildNumber,
            Children = PgText.CleanOrNull(checkpoint.Children),
            Timestamp = checkpoint.Timestamp.UtcDateTime,

            // Only a new run's start checkpoint, made on the submitting worker's own flow, names its queue item (a child's never does).
            QueueItem = checkpoint is { Sequence: 0, RerunOf: null, Parent: null } ? QueueItemScope.Take() : null,
        };
        return mode == CheckpointCommitMode.GroupCommit
            ? new ValueTask(_writer.WriteAsync(write, cancellationToken))
            : _writer.EnqueueAsync(write, cancellationToken);
    }

    public Task FlushAsync(CancellationToken cancellationToken = default) => _writer.FlushAsync(cancellationToken);

    public Task<ResumableRuns> LoadResumableAsync(string graph, CancellationToken cancellationToken = default)
        => ReadAsync(c => CheckpointQueries.ResumableAsync(c, _database, graph, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<RunCheckpoint>> LoadRunAsync(string runId, CancellationToken cancellationToken = default)
        => ReadAsync(c => CheckpointQueries.RunAsync(c, _database, runId, cancellationToken), cancellationToken);

    public Task<string?> GraphDescriptionAsync(string fingerprint, CancellationToken cancellationToken = default)
        => ReadAsync(c => CheckpointQueries.GraphDescriptionAsync(c, _database, fingerprint, cancellationToken), cancellationToken);

    /// <summary>The latest committed checkpoint of each of these runs that the store has (for a worker taking over leases, and a parent's children).</summary>
    public Task<IReadOnlyList<RunCheckpoint>> LoadLatestAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken = default)
        => ReadAsync(c => CheckpointQueries.LatestAsync(c, _database, runIds, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<string>> FailedRunsAsync(string graph, string? sessionId, CancellationToken cancellationToken)
        => ReadAsync(c => CheckpointQueries.FailedRunsAsync(c, _database, graph, sessionId, cancellationToken), cancellationToken);

    public ValueTask DisposeAsync() => _writer.DisposeAsync();

    private static string Base36(long value)
    {
        const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var text = string.Empty;
        do
        {
            text = Digits[(int)(value % 36)] + text;
            value /= 36;
        }
        while (value > 0);
        return text;
    }

    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> query, CancellationToken cancellationToken)
    {
        var connection = await _database.OpenAsync("read the checkpoints of", cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                return await query(connection).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw _database.Error(ex, "read the checkpoints of");
            }
        }
    }
}

using System.Globalization;
using Dapper;
using Dataflow.Checkpoints;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// The checkpoints of durable runs in a session store's file (<see cref="SessionStore.Checkpoints"/>): written by a
/// <see cref="BatchWriter{T}"/> of their own on their own connection, each batch in one transaction, in the same file
/// as the history. Group commit: a batch gathers for <see cref="CommitDelay"/> (or until it holds 2,048 checkpoints),
/// so the checkpoints of the runs that wait at the same moment share one transaction. Thread-safe.
/// </summary>
internal sealed class SqliteCheckpointStore : ICheckpointStore, IAsyncDisposable
{
    /// <summary>
    /// How long a batch gathers checkpoints before it is written. With group commit the runs whose checkpoints were
    /// just committed come back with their next ones within this time; without it each transaction would carry the
    /// one or two checkpoints that arrived first, and the rest would wait a transaction each.
    /// </summary>
    internal static readonly TimeSpan CommitDelay = TimeSpan.FromMilliseconds(2);

    private readonly SessionStore _store;
    private readonly StoreConnections _connections;
    private readonly SqliteConnection _connection;
    private readonly BatchWriter<CheckpointWrite> _writer;

    public SqliteCheckpointStore(SessionStore store, StoreConnections connections, bool durableCommits, TimeSpan busyTimeout, TimeProvider time, Action<BatchWriteFailure> onFailure)
    {
        _store = store;
        _connections = connections;
        _connection = connections.Open();
        try
        {
            _connection.Execute(durableCommits ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        }
        catch (SqliteException ex)
        {
            _connection.Dispose();
            throw StoreErrors.From(ex, store.Path, "open the checkpoints of");
        }

        _ = busyTimeout;
        _writer = new BatchWriter<CheckpointWrite>(new CheckpointTarget(_connection, store.Path, store.SessionId), new BatchWriterOptions
        {
            BatchSize = 2048,
            FlushInterval = CommitDelay,
            QueueCapacity = 8192,
            TimeProvider = time,
            OnFailure = onFailure,
            StoppedError = error => new StoreException($"The checkpoints of session store '{store.Path}' stopped being written after an error: {error.Message}", error),
        });
    }

    public BatchWriterHealth Health => _writer.Health;

    public string ReserveRunIdPrefix()
    {
        using var connection = _connections.Open();
        try
        {
            var id = connection.ExecuteScalar<long>(
                "INSERT INTO run_prefixes (session_id, created_at) VALUES (@SessionId, @CreatedAt); SELECT last_insert_rowid();",
                new { _store.SessionId, CreatedAt = SessionStore.Format(DateTimeOffset.UtcNow) });
            return "d" + Base36(id);
        }
        catch (SqliteException ex)
        {
            throw StoreErrors.From(ex, _store.Path, "reserve a run id prefix in");
        }
    }

    public ValueTask SaveGraphAsync(string graph, string fingerprint, string description, CancellationToken cancellationToken = default)
    {
        var write = new CheckpointWrite(null, new GraphDescription(graph, fingerprint, description));
        return _writer.EnqueueAsync(write, cancellationToken);
    }

    public ValueTask SaveAsync(RunCheckpoint checkpoint, CheckpointCommitMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var write = new CheckpointWrite(checkpoint, null);
        // The writer fails a stopped write with the store's own exception (StoppedError): its task is returned as it is.
        return mode == CheckpointCommitMode.GroupCommit
            ? new ValueTask(_writer.WriteAsync(write, cancellationToken))
            : _writer.EnqueueAsync(write, cancellationToken);
    }

    public Task FlushAsync(CancellationToken cancellationToken = default) => _writer.FlushAsync(cancellationToken);

    public Task<ResumableRuns> LoadResumableAsync(string graph, CancellationToken cancellationToken = default)
        => Read(connection => CheckpointQueries.Resumable(connection, _store.Path, graph));

    public Task<IReadOnlyList<RunCheckpoint>> LoadRunAsync(string runId, CancellationToken cancellationToken = default)
        => Read(connection => CheckpointQueries.Run(connection, _store.Path, runId));

    public Task<IReadOnlyList<RunCheckpoint>> LoadLatestAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken = default)
        => Read(connection => CheckpointQueries.Latest(connection, _store.Path, runIds));

    public Task<string?> GraphDescriptionAsync(string fingerprint, CancellationToken cancellationToken = default)
        => Read(connection => CheckpointQueries.GraphDescription(connection, _store.Path, fingerprint));

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

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

    private Task<T> Read<T>(Func<SqliteConnection, T> query)
    {
        // Microsoft.Data.Sqlite runs "async" calls synchronously; reads are rare (resume, rerun, show), so run them here.
        try
        {
            using var connection = _connections.Open();
            return Task.FromResult(query(connection));
        }
        catch (SqliteException ex)
        {
            return Task.FromException<T>(StoreErrors.From(ex, _store.Path, "read the checkpoints of"));
        }
        catch (Exception ex) when (ex is CheckpointException or FormatException or ArgumentException)
        {
            return Task.FromException<T>(ex);
        }
    }
}

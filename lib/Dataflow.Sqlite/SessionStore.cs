using System.Text.Json;
using Dapper;
using Dataflow.Checkpoints;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// A searchable history of entries in one SQLite file, shared by every session that opens it. Each instance is one
/// session. Writes are queued and written by a <see cref="BatchWriter{T}"/> in batches, one transaction per batch;
/// reads run on the caller's thread over pooled connections. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Opening: a file that is neither empty nor a Dataflow store is refused before anything is written
/// (<see cref="NotAStoreException"/>), as is a newer schema (<see cref="StoreSchemaTooNewException"/>) and a read-only
/// file or folder (<see cref="StoreReadOnlyException"/>, before any <c>-wal</c> or <c>-shm</c> file is created).</para>
/// <para>Writing: <see cref="RecordAsync(StoreRecord, CancellationToken)"/> waits while the queue is full;
/// <see cref="Record"/> never waits and throws <see cref="StoreFullException"/> instead; neither drops.
/// <see cref="FlushAsync"/> returns once everything queued before it is committed; <see cref="DisposeAsync"/> flushes and closes.</para>
/// <para>Failures: a batch that cannot be written because the database is locked by another process (past
/// <see cref="SessionStoreOptions.BusyTimeout"/>) is retried with backoff until it succeeds, and <see cref="Health"/>
/// says the writer is stalled meanwhile. Any other error is retried a few times; then the store stops writing, counts
/// what it could not write in <see cref="Unwritten"/>, and every later call throws a <see cref="StoreException"/> with
/// the cause. Each failure is reported to <see cref="SessionStoreOptions.OnWriteError"/>.</para>
/// </remarks>
public sealed partial class SessionStore : IEntryStore, IAsyncDisposable
{
    /// <summary>The longest content stored; longer content is cut, with <c>truncated: true</c> and <c>original_length</c> in its metadata.</summary>
    public const int MaxContentLength = 10_000;

    private readonly SessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly StoreConnections _connections;
    private readonly SqliteConnection _connection;
    private readonly BatchWriter<PendingEntry> _writer;
    private readonly HistoryQueries _queries;
    private readonly Lock _checkpointsGate = new();
    private SqliteCheckpointStore? _checkpoints;
    private int _disposed;

    /// <summary>Opens (creating as needed) the store at <paramref name="path"/> and starts a session.</summary>
    /// <param name="path">The database file; its folder is created as needed.</param>
    /// <param name="options">Batching, queue and session options; validated and copied.</param>
    /// <exception cref="ArgumentException">The path is empty, or an option is out of range.</exception>
    /// <exception cref="NotAStoreException">The file is neither empty nor a Dataflow store; it was left unchanged.</exception>
    /// <exception cref="StoreSchemaTooNewException">The file was written by a newer Dataflow; it was left unchanged.</exception>
    /// <exception cref="StoreReadOnlyException">The file or its folder is read-only.</exception>
    /// <exception cref="StoreLockedException">Another process held the database past the busy timeout.</exception>
    /// <exception cref="StoreException">The file cannot be opened for another reason.</exception>
    public SessionStore(string path, SessionStoreOptions? options = null)
        : this(path, options, indexByTrigger: false)
    {
    }

    /// <summary>Opens the store; <paramref name="indexByTrigger"/> keeps FTS5 in step with a trigger per row instead of one statement per batch (for comparison in benchmarks).</summary>
    internal SessionStore(string path, SessionStoreOptions? options, bool indexByTrigger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _options = (options ?? new SessionStoreOptions()).Validated();
        _time = _options.TimeProvider!;
        Path = System.IO.Path.GetFullPath(path);
        SessionId = Guid.CreateVersion7().ToString();
        StartedAt = _time.GetUtcNow();
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _connections = StoreConnections.ForWriting(Path, _options.BusyTimeout, create: true);
        _connection = StoreOpening.OpenWriter(_connections, _options.BusyTimeout, _options.DurableCommits);
        try
        {
            if (indexByTrigger)
            {
                _connection.Execute(Schema.InsertTriggerSql);
            }

            _connection.Execute(
                "INSERT INTO sessions (id, started_at, cwd, metadata) VALUES (@Id, @StartedAt, @Cwd, @Metadata)",
                new { Id = SessionId, StartedAt = Format(StartedAt), Cwd = _options.WorkingDirectory, Metadata = ToJson(_options.SessionMetadata) });
        }
        catch (SqliteException ex)
        {
            _connection.Dispose();
            throw StoreErrors.From(ex, Path, "start a session in");
        }

        _queries = new HistoryQueries(OpenReader);
        _writer = new BatchWriter<PendingEntry>(new SqliteEntryTarget(_connection, Path, indexByTrigger), new BatchWriterOptions
        {
            BatchSize = _options.BatchSize,
            FlushInterval = _options.FlushInterval,
            QueueCapacity = _options.QueueCapacity,
            TimeProvider = _time,
            OnFailure = Report,
        });
    }

    /// <summary>This session's id (a UUID v7).</summary>
    public string SessionId { get; }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>When this session started.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Entries this instance has committed.</summary>
    public long Written => _writer.Written;

    /// <summary>Failed attempts to write a batch (each retried or, past the last attempt, given up).</summary>
    public long WriteFailures => _writer.Failures;

    /// <summary>Entries that were accepted but never written because the store stopped on an error; 0 while healthy.</summary>
    public long Unwritten => _writer.Unwritten;

    /// <summary>The writer's health for progress displays: queued, written and failed counts, and, while another process
    /// holds the database, since when writes are stalled and why (a <see cref="StoreLockedException"/>).</summary>
    public BatchWriterHealth Health => _writer.Health;

    /// <summary>Queues one entry stamped now; waits while the queue is full. Never drops.</summary>
    /// <param name="mode">What produced the entry, such as <c>GRAPH</c>.</param>
    /// <param name="channel">The channel, such as <c>graph</c>.</param>
    /// <param name="direction"><c>input</c> or <c>output</c>.</param>
    /// <param name="content">The text; cut to <see cref="MaxContentLength"/> characters.</param>
    /// <param name="metadata">Structured fields, stored as JSON; a text <c>run_id</c> or <c>event</c> field also fills the indexed columns.</param>
    /// <param name="cancellationToken">Stops waiting for room; the entry is then not recorded.</param>
    /// <returns>A task that completes when the entry is queued; see <see cref="FlushAsync"/> for durability.</returns>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is neither <c>input</c> nor <c>output</c>, or the metadata cannot be serialized.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="StoreException">The store stopped writing after an error.</exception>
    public ValueTask RecordAsync(string mode, string channel, string direction, string content, IReadOnlyDictionary<string, object?>? metadata = null, CancellationToken cancellationToken = default)
        => RecordAsync(new StoreRecord(_time.GetUtcNow(), mode, channel, direction, content, metadata), cancellationToken);

    /// <summary>Queues one entry with its own timestamp, run id and event kind; waits while the queue is full. Never drops.</summary>
    /// <param name="entry">The entry; its content is cut to <see cref="MaxContentLength"/> characters.</param>
    /// <param name="cancellationToken">Stops waiting for room; the entry is then not recorded.</param>
    /// <returns>A task that completes when the entry is queued; see <see cref="FlushAsync"/> for durability.</returns>
    /// <exception cref="ArgumentException">The direction is neither <c>input</c> nor <c>output</c>, or the metadata cannot be serialized.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="StoreException">The store stopped writing after an error.</exception>
    public ValueTask RecordAsync(StoreRecord entry, CancellationToken cancellationToken = default)
    {
        var pending = CreateEntry(entry);
        return _writer.TryEnqueue(pending) ? default : EnqueueAsync(pending, cancellationToken);
    }

    /// <summary>
    /// Queues one entry without waiting. Use it where waiting is impossible; it never drops: when the queue is full it
    /// throws <see cref="StoreFullException"/> and records nothing, and the caller may retry or use
    /// <see cref="RecordAsync(string, string, string, string, IReadOnlyDictionary{string, object?}?, CancellationToken)"/>.
    /// </summary>
    /// <param name="mode">What produced the entry, such as <c>GRAPH</c>.</param>
    /// <param name="channel">The channel, such as <c>graph</c>.</param>
    /// <param name="direction"><c>input</c> or <c>output</c>.</param>
    /// <param name="content">The text; cut to <see cref="MaxContentLength"/> characters.</param>
    /// <param name="metadata">Structured fields, stored as JSON.</param>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is neither <c>input</c> nor <c>output</c>.</exception>
    /// <exception cref="StoreFullException">The queue is full.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public void Record(string mode, string channel, string direction, string content, IReadOnlyDictionary<string, object?>? metadata = null)
    {
        if (!TryRecord(mode, channel, direction, content, metadata))
        {
            throw new StoreFullException(
                $"The session store's queue is full ({_options.QueueCapacity} entries waiting); nothing was recorded. " +
                "Use RecordAsync to wait for room, or raise SessionStoreOptions.QueueCapacity.");
        }
    }

    /// <summary>Queues one entry if the queue has room; never waits, never drops silently.</summary>
    /// <param name="mode">What produced the entry, such as <c>GRAPH</c>.</param>
    /// <param name="channel">The channel, such as <c>graph</c>.</param>
    /// <param name="direction"><c>input</c> or <c>output</c>.</param>
    /// <param name="content">The text; cut to <see cref="MaxContentLength"/> characters.</param>
    /// <param name="metadata">Structured fields, stored as JSON.</param>
    /// <returns>True if queued; false if the queue was full (nothing recorded).</returns>
    public bool TryRecord(string mode, string channel, string direction, string content, IReadOnlyDictionary<string, object?>? metadata = null)
    {
        var pending = CreateEntry(new StoreRecord(_time.GetUtcNow(), mode, channel, direction, content, metadata));
        try
        {
            return _writer.TryEnqueue(pending);
        }
        catch (BatchWriterStoppedException ex)
        {
            throw Stopped(ex);
        }
    }

    /// <summary>Waits until every entry queued before this call is committed to the file.</summary>
    /// <param name="cancellationToken">Stops waiting (the entries are still written).</param>
    /// <returns>A task that completes when they are committed.</returns>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="StoreException">The store stopped writing after an error.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (BatchWriterStoppedException ex)
        {
            throw Stopped(ex);
        }
    }

    /// <summary>
    /// The checkpoints of durable runs, in this store's file: hand it to <c>GraphEngineOptions.Checkpoints</c>. Made on
    /// first use, with a batch writer and a connection of its own (group commit: checkpoints queued while one
    /// transaction commits share the next); disposed with the store.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    public ICheckpointStore Checkpoints
    {
        get
        {
            lock (_checkpointsGate)
            {
                ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                return _checkpoints ??= new SqliteCheckpointStore(this, _connections, _options.DurableCommits, _options.BusyTimeout, _time, Report);
            }
        }
    }

    /// <summary>Every committed checkpoint of one durable run, oldest first; empty when the store has none of that run.</summary>
    /// <param name="runId">The run.</param>
    /// <returns>The checkpoints.</returns>
    public IReadOnlyList<RunCheckpoint> RunCheckpoints(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        using var connection = OpenReader();
        return CheckpointQueries.Run(connection, Path, runId);
    }

    /// <summary>
    /// The durable runs of a graph that failed in one session and have not been rerun, oldest first: what
    /// <c>dataflow rerun --failed</c> reruns.
    /// </summary>
    /// <param name="graph">The graph's identity: its start node type's full name.</param>
    /// <param name="sessionId">The session; null for the latest session that has such runs.</param>
    /// <returns>The run ids; empty when there are none.</returns>
    public IReadOnlyList<string> FailedRuns(string graph, string? sessionId = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        using var connection = OpenReader();
        return CheckpointQueries.FailedRuns(connection, Path, graph, sessionId);
    }

    /// <summary>Writes everything queued, stops the writer and closes the file. Safe to call twice.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        var first = Interlocked.Exchange(ref _disposed, 1) == 0;
        SqliteCheckpointStore? checkpoints;
        lock (_checkpointsGate)
        {
            checkpoints = _checkpoints;
        }

        if (checkpoints is not null)
        {
            await checkpoints.DisposeAsync().ConfigureAwait(false);
        }

        await _writer.DisposeAsync().ConfigureAwait(false);
        if (first)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connections.ClearPool();
        }
    }

    internal static string Format(DateTimeOffset time) => HistoryQueries.Format(time);

    private static string? ToJson(IReadOnlyDictionary<string, object?>? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Serialize(metadata);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new ArgumentException($"The metadata cannot be stored as JSON: {ex.Message}", nameof(metadata), ex);
        }
    }

    private static string? Field(IReadOnlyDictionary<string, object?>? metadata, string name)
        => metadata is not null && metadata.TryGetValue(name, out var value) ? value as string : null;

    private SqliteConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _connections.Open();
    }

    private PendingEntry CreateEntry(StoreRecord entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(entry.Mode);
        ArgumentNullException.ThrowIfNull(entry.Channel);
        ArgumentNullException.ThrowIfNull(entry.Direction);
        ArgumentNullException.ThrowIfNull(entry.Content);
        if (entry.Direction is not ("input" or "output"))
        {
            throw new ArgumentException($"Direction must be 'input' or 'output', not '{entry.Direction}'.", "direction");
        }

        var (content, metadata) = (entry.Content, entry.Metadata);
        if (content.Length > MaxContentLength)
        {
            var marked = metadata is null
                ? new Dictionary<string, object?>(StringComparer.Ordinal)
                : new Dictionary<string, object?>(metadata, StringComparer.Ordinal);
            marked["truncated"] = true;
            marked["original_length"] = content.Length;
            metadata = marked;

            // Never cut a surrogate pair in half.
            var cut = char.IsHighSurrogate(content[MaxContentLength - 1]) ? MaxContentLength - 1 : MaxContentLength;
            content = content[..cut];
        }

        return new PendingEntry
        {
            SessionId = SessionId,
            Timestamp = Format(entry.Timestamp),
            Mode = entry.Mode,
            Channel = entry.Channel,
            Direction = entry.Direction,
            Content = content,
            Metadata = ToJson(metadata),
            RunId = entry.RunId ?? Field(entry.Metadata, "run_id"),
            Event = entry.Event ?? Field(entry.Metadata, "event"),
        };
    }

    private async ValueTask EnqueueAsync(PendingEntry pending, CancellationToken cancellationToken)
    {
        try
        {
            await _writer.EnqueueAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (BatchWriterStoppedException ex)
        {
            throw Stopped(ex);
        }
    }

    private StoreException Stopped(BatchWriterStoppedException ex)
        => new($"The session store '{Path}' stopped writing after an error: {ex.InnerException?.Message ?? ex.Message}", ex.InnerException ?? ex);

    private void Report(BatchWriteFailure failure)
    {
        if (_options.OnWriteError is not { } listener)
        {
            return;
        }

        var message = failure.RetryIn is { } retry
            ? $"Writing a batch of {failure.BatchCount} entries to '{Path}' failed (attempt {failure.Attempt}): {failure.Error.Message} Retrying in {retry.TotalMilliseconds} ms."
            : $"The session store '{Path}' stopped writing after an error; {failure.Lost} entries were not written: {failure.Error.Message}";
        listener(new StoreException(message, failure.Error));
    }
}

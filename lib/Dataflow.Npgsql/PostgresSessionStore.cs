using System.Text.Json;
using Dapper;
using Dataflow.Storage;
using Npgsql;

namespace Dataflow.Npgsql;

/// <summary>
/// A searchable history of entries in a PostgreSQL database, shared by every session, process and machine that opens
/// it. Each instance is one session. Writes are queued and written by a <see cref="BatchWriter{T}"/> in batches, one
/// transaction (one binary <c>COPY</c>) per batch; reads take pooled connections. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Opening (<see cref="OpenAsync(string, PostgresStoreOptions?, CancellationToken)"/>): the store's tables live in one schema (<see cref="PostgresStoreOptions.Schema"/>,
/// <c>dataflow</c> by default), created on first use. A schema that holds tables which are not a Dataflow store's is
/// refused before anything is written (<see cref="NotAStoreException"/>), as is a newer schema
/// (<see cref="StoreSchemaTooNewException"/>).</para>
/// <para>Writing: <see cref="RecordAsync(StoreRecord, CancellationToken)"/> waits while the queue is full;
/// <see cref="Record"/> never waits and throws <see cref="StoreFullException"/> instead; neither drops. Text that
/// PostgreSQL cannot store (the NUL character, a lone UTF-16 surrogate) is stored as U+FFFD.
/// <see cref="FlushAsync"/> returns once everything queued before it is committed; <see cref="DisposeAsync"/> flushes and closes.</para>
/// <para>Failures: a batch that fails because the server is unreachable or busy (<see cref="StoreUnavailableException"/>)
/// is retried with backoff until it succeeds, and <see cref="Health"/> says the writer is stalled meanwhile. Any other
/// error is retried a few times; then the store stops writing, counts what it could not write in <see cref="Unwritten"/>,
/// and every later call throws a <see cref="StoreException"/> with the cause.</para>
/// </remarks>
public sealed partial class PostgresSessionStore : IEntryStore, IAsyncDisposable
{
    /// <summary>The longest content stored; longer content is cut, with <c>truncated: true</c> and <c>original_length</c> in its metadata.</summary>
    public const int MaxContentLength = 10_000;

    private readonly PostgresStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly PostgresDatabase _database;
    private readonly BatchWriter<PendingEntry> _writer;
    private readonly HistoryQueries _queries;
    private int _disposed;

    private PostgresSessionStore(PostgresDatabase database, PostgresStoreOptions options, string sessionId, DateTimeOffset startedAt, BatchInsert insert)
    {
        _database = database;
        _options = options;
        _time = options.TimeProvider!;
        SessionId = sessionId;
        StartedAt = startedAt;
        _queries = new HistoryQueries(database, () => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this));
        _writer = new BatchWriter<PendingEntry>(new PostgresEntryTarget(database, insert), new BatchWriterOptions
        {
            BatchSize = options.BatchSize,
            FlushInterval = options.FlushInterval,
            QueueCapacity = options.QueueCapacity,
            TimeProvider = _time,
            OnFailure = Report,
        });
    }

    /// <summary>This session's id (a UUID v7).</summary>
    public string SessionId { get; }

    /// <summary>When this session started.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>How messages name the store: its schema, database, host and port (never the password).</summary>
    public string Target => _database.Target;

    /// <summary>Entries this instance has committed.</summary>
    public long Written => _writer.Written;

    /// <summary>Failed attempts to write a batch (each retried or, past the last attempt, given up).</summary>
    public long WriteFailures => _writer.Failures;

    /// <summary>Entries that were accepted but never written because the store stopped on an error; 0 while healthy.</summary>
    public long Unwritten => _writer.Unwritten;

    /// <summary>The writer's health for progress displays: queued, written and failed counts, and, while the server is
    /// unreachable, since when writes are stalled and why (a <see cref="StoreUnavailableException"/>).</summary>
    public BatchWriterHealth Health => _writer.Health;

    /// <summary>Opens (creating or migrating as needed) the store in the database and starts a session.</summary>
    /// <param name="connectionString">A <c>postgresql://user:password@host:port/database</c> URI or Npgsql keywords (<c>Host=…;Database=…</c>).</param>
    /// <param name="options">Batching, schema and session options; validated and copied.</param>
    /// <param name="cancellationToken">Stops opening.</param>
    /// <returns>The open store; dispose it to flush and close.</returns>
    /// <exception cref="ArgumentException">The connection string cannot be read, or an option is out of range.</exception>
    /// <exception cref="NotAStoreException">The schema holds tables that are not a Dataflow store's; it was left unchanged.</exception>
    /// <exception cref="StoreSchemaTooNewException">The store was written by a newer Dataflow; it was left unchanged.</exception>
    /// <exception cref="StoreUnavailableException">The server cannot be reached.</exception>
    /// <exception cref="StoreException">The database cannot be opened for another reason (authentication, privileges, no such database).</exception>
    public static Task<PostgresSessionStore> OpenAsync(string connectionString, PostgresStoreOptions? options = null, CancellationToken cancellationToken = default)
        => OpenAsync(connectionString, options, BatchInsert.Copy, cancellationToken);

    /// <summary>Opens the store; <paramref name="insert"/> chooses how batches go to the server (for comparison in benchmarks).</summary>
    internal static async Task<PostgresSessionStore> OpenAsync(string connectionString, PostgresStoreOptions? options, BatchInsert insert, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var validated = (options ?? new PostgresStoreOptions()).Validated();
        var database = PostgresDatabase.Create(connectionString, validated.Schema, readOnly: false);
        try
        {
            var time = validated.TimeProvider!;
            var sessionId = Guid.CreateVersion7().ToString();
            var startedAt = time.GetUtcNow();
            var connection = await database.OpenAsync("open", cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    await Schema.MigrateAsync(connection, database, cancellationToken).ConfigureAwait(false);
                    await connection.ExecuteAsync(new CommandDefinition(
                        $"INSERT INTO {database.Table("sessions")} (id, started_at, cwd, metadata) VALUES (@Id, @StartedAt, @Cwd, @Metadata)",
                        new { Id = sessionId, StartedAt = startedAt.ToUniversalTime(), Cwd = PgText.CleanOrNull(validated.WorkingDirectory), Metadata = ToJson(validated.SessionMetadata) },
                        cancellationToken: cancellationToken)).ConfigureAwait(false);
                }
                catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw database.Error(ex, "open");
                }
            }

            return new PostgresSessionStore(database, validated, sessionId, startedAt, insert);
        }
        catch
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

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
        try
        {
            return _writer.TryEnqueue(pending) ? default : EnqueueAsync(pending, cancellationToken);
        }
        catch (BatchWriterStoppedException ex)
        {
            throw Stopped(ex);
        }
    }

    /// <summary>Queues one entry without waiting; when the queue is full it throws <see cref="StoreFullException"/> and records nothing.</summary>
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
                "Use RecordAsync to wait for room, or raise PostgresStoreOptions.QueueCapacity.");
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

    /// <summary>Waits until every entry queued before this call is committed.</summary>
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

    /// <inheritdoc cref="PostgresSessionHistory.SearchAsync"/>
    public IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions? options = null, CancellationToken cancellationToken = default)
        => _queries.SearchAsync(query, options, cancellationToken);

    /// <inheritdoc cref="PostgresSessionHistory.RecentAsync"/>
    public IAsyncEnumerable<StoreEntry> RecentAsync(int n = 50, CancellationToken cancellationToken = default) => _queries.RecentAsync(n, cancellationToken);

    /// <inheritdoc cref="PostgresSessionHistory.SessionEntriesAsync"/>
    public IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId = null, CancellationToken cancellationToken = default)
        => _queries.SessionEntriesAsync(sessionId, runId, cancellationToken);

    /// <inheritdoc cref="PostgresSessionHistory.SessionOfRunAsync"/>
    public Task<string?> SessionOfRunAsync(string runId, CancellationToken cancellationToken = default) => _queries.SessionOfRunAsync(runId, cancellationToken);

    /// <inheritdoc cref="PostgresSessionHistory.SessionsAsync"/>
    public Task<IReadOnlyList<SessionInfo>> SessionsAsync(CancellationToken cancellationToken = default) => _queries.SessionsAsync(cancellationToken);

    /// <summary>Writes everything queued, stops the writer and closes the connections. Safe to call twice.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync().ConfigureAwait(false);
        await DisposeCheckpointsAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _database.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string? ToJson(IReadOnlyDictionary<string, object?>? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        try
        {
            // JSON escapes NUL and lone surrogates (\u0000, \udc00), so the text is always storable.
            return JsonSerializer.Serialize(metadata);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new ArgumentException($"The metadata cannot be stored as JSON: {ex.Message}", nameof(metadata), ex);
        }
    }

    private static string? Field(IReadOnlyDictionary<string, object?>? metadata, string name)
        => metadata is not null && metadata.TryGetValue(name, out var value) ? value as string : null;

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
            Timestamp = entry.Timestamp.UtcDateTime,
            Mode = PgText.Clean(entry.Mode),
            Channel = PgText.Clean(entry.Channel),
            Direction = entry.Direction,
            Content = PgText.Clean(content),
            Metadata = ToJson(metadata),
            RunId = PgText.CleanOrNull(entry.RunId ?? Field(entry.Metadata, "run_id")),
            Event = PgText.CleanOrNull(entry.Event ?? Field(entry.Metadata, "event")),
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
        => new($"The session store ({Target}) stopped writing after an error: {ex.InnerException?.Message ?? ex.Message}", ex.InnerException ?? ex);

    private void Report(BatchWriteFailure failure)
    {
        if (_options.OnWriteError is not { } listener)
        {
            return;
        }

        var message = failure.RetryIn is { } retry
            ? $"Writing a batch of {failure.BatchCount} entries to the session store ({Target}) failed (attempt {failure.Attempt}): {failure.Error.Message} Retrying in {retry.TotalMilliseconds} ms."
            : $"The session store ({Target}) stopped writing after an error; {failure.Lost} entries were not written: {failure.Error.Message}";
        listener(new StoreException(message, failure.Error));
    }
}

using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// A searchable history of entries in one SQLite file, shared by every session that opens it. Each instance is one
/// session. Writes are queued and written by one background loop in batches, one transaction per batch; reads run
/// on the caller's thread over pooled connections. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Writing: <see cref="RecordAsync(string, string, string, string, IReadOnlyDictionary{string, object?}?, CancellationToken)"/>
/// waits while the queue is full; <see cref="Record"/> never waits and throws <see cref="StoreFullException"/> instead;
/// neither drops. <see cref="FlushAsync"/> returns once everything queued before it is committed;
/// <see cref="DisposeAsync"/> flushes and closes.</para>
/// <para>Failures: a batch that cannot be written because the file is busy (another writer held it past
/// <see cref="SessionStoreOptions.BusyTimeout"/>) is retried with backoff until it succeeds, and each failure is reported to
/// <see cref="SessionStoreOptions.OnWriteError"/>. Any other error is retried a few times; then the store stops writing,
/// counts what it could not write in <see cref="Unwritten"/>, and every later call throws a <see cref="StoreException"/> with the cause.</para>
/// </remarks>
public sealed class SessionStore : IEntryStore, IAsyncDisposable
{
    /// <summary>The longest content stored; longer content is cut, with <c>truncated: true</c> and <c>original_length</c> in its metadata.</summary>
    public const int MaxContentLength = 10_000;

    private const int MaxAttemptsOnError = 5;

    private readonly SessionStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly Channel<WorkItem> _queue;
    private readonly Task _writeLoop;
    private readonly HistoryQueries _queries;
    private readonly bool _indexByTrigger;
    private long _written;
    private long _writeFailures;
    private long _unwritten;
    private volatile StoreException? _fault;
    private int _disposed;

    /// <summary>Opens (creating as needed) the store at <paramref name="path"/> and starts a session.</summary>
    /// <param name="path">The database file; its folder is created as needed.</param>
    /// <param name="options">Batching, queue and session options; validated and copied.</param>
    /// <exception cref="ArgumentException">The path is empty, or an option is out of range.</exception>
    /// <exception cref="StoreException">The file cannot be opened, is not a session store, or has a newer schema version.</exception>
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
        _indexByTrigger = indexByTrigger;
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(_options.BusyTimeout.TotalSeconds)),
        }.ToString();

        SessionId = Guid.CreateVersion7().ToString();
        StartedAt = _time.GetUtcNow();
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _writer = new SqliteConnection(_connectionString);
        try
        {
            _writer.Open();
            Configure(_writer);
            _writer.Execute("PRAGMA journal_mode = WAL");
            _writer.Execute(_options.DurableCommits ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
            Schema.Migrate(_writer, Path);
            if (indexByTrigger)
            {
                _writer.Execute(Schema.InsertTriggerSql);
            }

            _writer.Execute(
                "INSERT INTO sessions (id, started_at, cwd, metadata) VALUES (@Id, @StartedAt, @Cwd, @Metadata)",
                new { Id = SessionId, StartedAt = Format(StartedAt), Cwd = _options.WorkingDirectory, Metadata = ToJson(_options.SessionMetadata) });
        }
        catch (SqliteException ex)
        {
            _writer.Dispose();
            throw new StoreException($"Could not open the session store '{Path}': {ex.Message} (SQLite error {ex.SqliteErrorCode}).", ex);
        }
        catch
        {
            _writer.Dispose();
            throw;
        }

        _queries = new HistoryQueries(OpenReader);
        _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        using (ExecutionContext.SuppressFlow())
        {
            _writeLoop = Task.Run(WriteLoopAsync);
        }
    }

    /// <summary>This session's id (a UUID v7).</summary>
    public string SessionId { get; }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>When this session started.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Entries this instance has committed.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Failed attempts to write a batch (each retried or, past the last attempt, given up).</summary>
    public long WriteFailures => Interlocked.Read(ref _writeFailures);

    /// <summary>Entries that were accepted but never written because the store stopped on an error; 0 while healthy.</summary>
    public long Unwritten => Interlocked.Read(ref _unwritten);

    /// <summary>Queues one entry; waits while the queue is full. Never drops.</summary>
    /// <param name="mode">What produced the entry, such as <c>GRAPH</c>.</param>
    /// <param name="channel">The channel, such as <c>graph</c>.</param>
    /// <param name="direction"><c>input</c> or <c>output</c>.</param>
    /// <param name="content">The text; cut to <see cref="MaxContentLength"/> characters.</param>
    /// <param name="metadata">Structured fields, stored as JSON.</param>
    /// <param name="cancellationToken">Stops waiting for room; the entry is then not recorded.</param>
    /// <returns>A task that completes when the entry is queued; see <see cref="FlushAsync"/> for durability.</returns>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is neither <c>input</c> nor <c>output</c>, or the metadata cannot be serialized.</exception>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="StoreException">The store stopped writing after an error.</exception>
    public ValueTask RecordAsync(string mode, string channel, string direction, string content, IReadOnlyDictionary<string, object?>? metadata = null, CancellationToken cancellationToken = default)
        => RecordAsync(mode, channel, direction, content, metadata, timestamp: null, cancellationToken);

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
        var entry = CreateEntry(mode, channel, direction, content, metadata, timestamp: null);
        if (_queue.Writer.TryWrite(new WorkItem(entry, null)))
        {
            return true;
        }

        ThrowIfClosed();
        return false;
    }

    /// <summary>Waits until every entry queued before this call is committed to the file.</summary>
    /// <param name="cancellationToken">Stops waiting (the entries are still written).</param>
    /// <returns>A task that completes when they are committed.</returns>
    /// <exception cref="ObjectDisposedException">The store is disposed.</exception>
    /// <exception cref="StoreException">The store stopped writing after an error.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _queue.Writer.WriteAsync(new WorkItem(null, done), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            ThrowIfClosed();
            throw;
        }

        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Full-text search over every session (or the filtered ones), newest first unless ranked.</summary>
    /// <param name="query">Plain text (every word must occur; a trailing <c>*</c> makes a prefix) or, with <see cref="SearchOptions.Fts"/>, FTS5 syntax.</param>
    /// <param name="options">Limit, order, mode and filters.</param>
    /// <returns>The hits, each with a highlighted <see cref="StoreEntry.Snippet"/>; empty when the plain text holds no searchable word.</returns>
    /// <exception cref="InvalidSearchQueryException">A raw FTS5 query is malformed.</exception>
    public IReadOnlyList<StoreEntry> Search(string query, SearchOptions? options = null) => _queries.Search(query, options);

    /// <summary>The newest entries across every session, newest first.</summary>
    /// <param name="n">How many.</param>
    /// <returns>The entries.</returns>
    public IReadOnlyList<StoreEntry> Recent(int n = 50) => _queries.Recent(n);

    /// <summary>Every entry of one session, oldest first.</summary>
    /// <param name="sessionId">The session; this one when null.</param>
    /// <returns>The entries.</returns>
    public IReadOnlyList<StoreEntry> SessionEntries(string? sessionId = null) => _queries.SessionEntries(sessionId ?? SessionId);

    /// <summary>Every session in the file, newest first, with its entry count.</summary>
    /// <returns>The sessions.</returns>
    public IReadOnlyList<SessionInfo> Sessions() => _queries.Sessions();

    /// <summary>
    /// A text summary of the latest entries of other sessions (the <c>debug</c> channel left out), oldest first, one
    /// line per entry (<c>[MODE:channel] content</c>, each cut to 200 characters), at most <paramref name="budget"/>
    /// characters in all; empty when other sessions have written nothing.
    /// </summary>
    /// <param name="budget">The most characters to return.</param>
    /// <returns>The summary.</returns>
    public string CrossSessionContext(int budget = 2000) => _queries.CrossSessionContext(SessionId, budget);

    /// <summary>Writes everything queued, stops the writer and closes the file. Safe to call twice.</summary>
    /// <returns>A task that completes when the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _writeLoop.ConfigureAwait(false);
            return;
        }

        _queue.Writer.TryComplete();
        await _writeLoop.ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
    }

    /// <summary>Queues one entry with its own timestamp (now when null); waits while the queue is full.</summary>
    internal ValueTask RecordAsync(string mode, string channel, string direction, string content, IReadOnlyDictionary<string, object?>? metadata, DateTimeOffset? timestamp, CancellationToken cancellationToken)
    {
        var item = new WorkItem(CreateEntry(mode, channel, direction, content, metadata, timestamp), null);
        return _queue.Writer.TryWrite(item) ? default : WaitAndRecordAsync(item, cancellationToken);
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

    private void Configure(SqliteConnection connection)
        => connection.Execute($"PRAGMA busy_timeout = {(int)_options.BusyTimeout.TotalMilliseconds}");

    private SqliteConnection OpenReader()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            Configure(connection);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private PendingEntry CreateEntry(string mode, string channel, string direction, string content, IReadOnlyDictionary<string, object?>? metadata, DateTimeOffset? timestamp)
    {
        ArgumentNullException.ThrowIfNull(mode);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(direction);
        ArgumentNullException.ThrowIfNull(content);
        if (direction is not ("input" or "output"))
        {
            throw new ArgumentException($"Direction must be 'input' or 'output', not '{direction}'.", nameof(direction));
        }

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
            Timestamp = Format(timestamp ?? _time.GetUtcNow()),
            Mode = mode,
            Channel = channel,
            Direction = direction,
            Content = content,
            Metadata = ToJson(metadata),
        };
    }

    private async ValueTask WaitAndRecordAsync(WorkItem item, CancellationToken cancellationToken)
    {
        while (!_queue.Writer.TryWrite(item))
        {
            if (!await _queue.Writer.WaitToWriteAsync(cancellationToken).ConfigureAwait(false))
            {
                ThrowIfClosed();
            }
        }
    }

    private void ThrowIfClosed()
    {
        if (_fault is { } fault)
        {
            throw new StoreException($"The session store '{Path}' stopped writing after an error: {fault.Message}", fault);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_queue.Reader.Completion.IsCompleted)
        {
            throw new ObjectDisposedException(nameof(SessionStore));
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<PendingEntry>(_options.BatchSize);
        var flushes = new List<TaskCompletionSource>();
        Task<bool>? pendingWait = null;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                var started = _time.GetTimestamp();
                var flushNow = false;
                while (true)
                {
                    while (batch.Count < _options.BatchSize && !flushNow && reader.TryRead(out var item))
                    {
                        if (item.Flush is { } flush)
                        {
                            flushes.Add(flush);
                            flushNow = true;
                        }
                        else
                        {
                            batch.Add(item.Entry!);
                        }
                    }

                    var remaining = _options.FlushInterval - _time.GetElapsedTime(started);
                    if (flushNow || batch.Count >= _options.BatchSize || remaining <= TimeSpan.Zero)
                    {
                        break;
                    }

                    // Wait for more entries, or for the interval to run out, whichever comes first.
                    pendingWait ??= reader.WaitToReadAsync().AsTask();
                    using (var timer = new CancellationTokenSource())
                    {
                        var delay = Task.Delay(remaining, _time, timer.Token);
                        var first = await Task.WhenAny(pendingWait, delay).ConfigureAwait(false);
                        await timer.CancelAsync().ConfigureAwait(false);
                        if (first != pendingWait)
                        {
                            break;
                        }
                    }

                    var more = await pendingWait.ConfigureAwait(false);
                    pendingWait = null;
                    if (!more)
                    {
                        break;
                    }
                }

                await CommitAsync(batch).ConfigureAwait(false);
                batch.Clear();
                foreach (var flush in flushes)
                {
                    flush.TrySetResult();
                }

                flushes.Clear();
            }
        }
        catch (Exception ex)
        {
            // The store gives up: say so to every waiter and count what will never be written.
            var fault = ex as StoreException ?? new StoreException($"The session store '{Path}' stopped writing: {ex.Message}", ex);
            _fault = fault;
            _queue.Writer.TryComplete(fault);
            var lost = batch.Count;
            foreach (var flush in flushes)
            {
                flush.TrySetException(fault);
            }

            while (reader.TryRead(out var item))
            {
                if (item.Flush is { } flush)
                {
                    flush.TrySetException(fault);
                }
                else
                {
                    lost++;
                }
            }

            Interlocked.Add(ref _unwritten, lost);
            Report(new StoreException($"The session store '{Path}' stopped writing after an error; {lost} entries were not written: {ex.Message}", ex));
        }
    }

    private async Task CommitAsync(List<PendingEntry> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var attempt = 0;
        while (true)
        {
            try
            {
                Commit(batch);
                Interlocked.Add(ref _written, batch.Count);
                return;
            }
            catch (SqliteException ex)
            {
                attempt++;
                Interlocked.Increment(ref _writeFailures);
                var busy = ex.SqliteErrorCode is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED;
                if (!busy && attempt >= MaxAttemptsOnError)
                {
                    throw new StoreException($"Writing a batch of {batch.Count} entries to '{Path}' failed {attempt} times: {ex.Message} (SQLite error {ex.SqliteErrorCode}).", ex);
                }

                var backoff = TimeSpan.FromMilliseconds(Math.Min(1000, 25 * (1 << Math.Min(attempt, 6))));
                Report(new StoreException(
                    $"Writing a batch of {batch.Count} entries to '{Path}' failed (attempt {attempt}, SQLite error {ex.SqliteErrorCode}: {ex.Message}); retrying in {backoff.TotalMilliseconds} ms.",
                    ex));
                await Task.Delay(backoff, _time).ConfigureAwait(false);
            }
        }
    }

    private void Commit(List<PendingEntry> batch)
    {
        using var transaction = _writer.BeginTransaction(deferred: false);
        if (_indexByTrigger)
        {
            _writer.Execute(Schema.InsertEntrySql, batch, transaction);
        }
        else
        {
            // Rowids of one transaction are consecutive after the largest one (no AUTOINCREMENT, and we hold the write lock).
            var after = _writer.ExecuteScalar<long>("SELECT coalesce(max(id), 0) FROM entries", transaction: transaction);
            _writer.Execute(Schema.InsertEntrySql, batch, transaction);
            _writer.Execute(Schema.IndexBatchSql, new { After = after }, transaction);
        }

        transaction.Commit();
    }

    private void Report(StoreException exception)
    {
        if (_options.OnWriteError is not { } listener)
        {
            return;
        }

        try
        {
            listener(exception);
        }
        catch (Exception)
        {
            // A listener that throws must not stop the writer; its failure is already counted.
        }
    }

    private readonly record struct WorkItem(PendingEntry? Entry, TaskCompletionSource? Flush);

    private sealed class PendingEntry
    {
        public required string SessionId { get; init; }

        public required string Timestamp { get; init; }

        public required string Mode { get; init; }

        public required string Channel { get; init; }

        public required string Direction { get; init; }

        public required string Content { get; init; }

        public string? Metadata { get; init; }
    }
}

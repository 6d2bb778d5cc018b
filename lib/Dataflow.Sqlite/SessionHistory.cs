using Dapper;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// A read-only view of an existing session store: the same queries as <see cref="SessionStore"/>, without starting a
/// session or a writer. It opens the file read-only (<c>Mode=ReadOnly</c>), so it never creates, migrates or changes
/// it, and it sees what open stores have committed (<see cref="SessionStore.FlushAsync"/>) as of each query. It can
/// read a read-only file and a file in a read-only folder, and leaves no <c>-wal</c> or <c>-shm</c> file behind that
/// was not there before. Thread-safe.
/// </summary>
/// <remarks>
/// SQLite creates a WAL database's <c>-wal</c> and <c>-shm</c> files on the first read even on a read-only connection,
/// and a read-only connection never removes them. So when no <c>-wal</c> file exists (no writer has the file open):
/// a file nobody can write (a read-only file, or one in a read-only folder) is read as immutable, which creates
/// nothing; otherwise the view reads normally (a store may start writing meanwhile) and on <see cref="Dispose"/>
/// opens the file once for writing and closes it, so that SQLite itself removes the side files when no other
/// connection uses them. That last connection changes nothing in the database.
/// </remarks>
public sealed class SessionHistory : IDisposable
{
    private readonly TimeSpan _busyTimeout;
    private readonly bool _removeSideFiles;
    private readonly HistoryQueries _queries;
    private StoreConnections _connections;
    private int _disposed;

    private SessionHistory(string path, TimeSpan busyTimeout, StoreConnections connections, bool removeSideFiles)
    {
        Path = path;
        _busyTimeout = busyTimeout;
        _connections = connections;
        _removeSideFiles = removeSideFiles;
        _queries = new HistoryQueries(OpenConnection);
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Opens the existing store at <paramref name="path"/> for reading.</summary>
    /// <param name="path">The database file; it must exist.</param>
    /// <param name="options">Only <see cref="SessionStoreOptions.BusyTimeout"/> applies: how long a read waits for a writer that holds the file.</param>
    /// <returns>The view; dispose it to release the file.</returns>
    /// <exception cref="ArgumentException">The path is empty, or an option is out of range.</exception>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>; none is created.</exception>
    /// <exception cref="NotAStoreException">The file is not a Dataflow session store.</exception>
    /// <exception cref="StoreSchemaTooNewException">The file was written by a newer Dataflow.</exception>
    /// <exception cref="StoreLockedException">Another process held the database past the busy timeout.</exception>
    /// <exception cref="StoreException">The file cannot be opened for another reason.</exception>
    public static SessionHistory Open(string path, SessionStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var busyTimeout = (options ?? new SessionStoreOptions()).Validated().BusyTimeout;
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw Missing(fullPath);
        }

        StoreOpening.Probe(fullPath, busyTimeout, newIsFine: false);
        var writerMayExist = StoreOpening.WalExists(fullPath);
        var immutable = !writerMayExist && ReadOnlyFile(fullPath);
        var history = new SessionHistory(fullPath, busyTimeout, StoreConnections.ForReading(fullPath, busyTimeout, immutable), removeSideFiles: !writerMayExist && !immutable);
        try
        {
            history.Check();
            return history;
        }
        catch
        {
            history.Dispose();
            throw;
        }
    }

    /// <summary>Full-text search over every session (or the filtered ones), newest first unless ranked.</summary>
    /// <param name="query">Plain text (every word must occur; a trailing <c>*</c> makes a prefix) or, with <see cref="SearchOptions.Fts"/>, FTS5 syntax.</param>
    /// <param name="options">Limit, order, mode and filters (session, channel, run, event kind, time).</param>
    /// <returns>The hits, each with a highlighted <see cref="StoreEntry.Snippet"/>; empty when the plain text holds no searchable word.</returns>
    /// <exception cref="InvalidSearchQueryException">A raw FTS5 query is malformed.</exception>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<StoreEntry> Search(string query, SearchOptions? options = null) => _queries.SearchList(query, options);

    /// <summary>Like <see cref="Search"/>, streamed: rows are read as they are enumerated, in constant memory whatever the limit.</summary>
    /// <param name="query">Plain text or, with <see cref="SearchOptions.Fts"/>, FTS5 syntax.</param>
    /// <param name="options">Limit, order, mode and filters.</param>
    /// <param name="cancellationToken">Stops the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The hits.</returns>
    /// <exception cref="InvalidSearchQueryException">A raw FTS5 query is malformed (on the first move).</exception>
    public IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions? options = null, CancellationToken cancellationToken = default)
        => _queries.SearchAsync(query, options, cancellationToken);

    /// <summary>The newest entries across every session, newest first.</summary>
    /// <param name="n">How many.</param>
    /// <returns>The entries.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<StoreEntry> Recent(int n = 50) => _queries.RecentList(n);

    /// <summary>Like <see cref="Recent"/>, streamed in constant memory.</summary>
    /// <param name="n">How many.</param>
    /// <param name="cancellationToken">Stops the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The entries, newest first.</returns>
    public IAsyncEnumerable<StoreEntry> RecentAsync(int n = 50, CancellationToken cancellationToken = default) => _queries.RecentAsync(n, cancellationToken);

    /// <summary>Every entry of one session, oldest first.</summary>
    /// <param name="sessionId">The session.</param>
    /// <returns>The entries; empty for an unknown session.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<StoreEntry> SessionEntries(string sessionId) => _queries.SessionEntriesList(sessionId, null);

    /// <summary>The entries of one run in one session, oldest first (an index lookup on the run id).</summary>
    /// <param name="sessionId">The session (run ids repeat across sessions).</param>
    /// <param name="runId">The run's id, such as <c>g7</c>.</param>
    /// <returns>The entries; empty when the session has no such run.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<StoreEntry> SessionEntries(string sessionId, string runId)
        => _queries.SessionEntriesList(sessionId, runId ?? throw new ArgumentNullException(nameof(runId)));

    /// <summary>The entries of one session, or of one run in it, oldest first, streamed in constant memory.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="runId">The run; every entry of the session when null.</param>
    /// <param name="cancellationToken">Stops the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The entries.</returns>
    public IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId = null, CancellationToken cancellationToken = default)
        => _queries.SessionEntriesAsync(sessionId, runId, cancellationToken);

    /// <summary>The newest session with entries of <paramref name="runId"/> (run ids repeat across sessions); one index lookup.</summary>
    /// <param name="runId">The run's id.</param>
    /// <returns>The session's id, or null when no session has that run.</returns>
    public string? SessionOfRun(string runId) => _queries.SessionOfRun(runId);

    /// <summary>
    /// One page of a session's runs, each with its state, start, input line, end, duration, end node and error, read
    /// from its start and end entries; filtered by state, end node and time, and paged by keyset (see <see cref="RunQuery"/>).
    /// Streamed; each page is an index range, so it costs the same on a store of any size.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="query">Filters and the page; null for the newest 50 runs.</param>
    /// <param name="cancellationToken">Stops the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The runs, newest first.</returns>
    /// <exception cref="ArgumentException">The query is invalid (limit, cursor, a node filter on unfinished runs, since after until); the message lists every problem.</exception>
    public IAsyncEnumerable<RunSummary> RunsAsync(string sessionId, RunQuery? query = null, CancellationToken cancellationToken = default)
        => _queries.RunsAsync(sessionId, query, cancellationToken);

    /// <summary>One session: a primary-key lookup, and with <paramref name="countEntries"/> a count of its entries.</summary>
    /// <param name="sessionId">The session's id.</param>
    /// <param name="countEntries">
    /// Whether to count the session's entries. The count reads the session's whole range of an index (about 0.2 s
    /// for a million entries); without it <see cref="SessionInfo.EntryCount"/> is -1.
    /// </param>
    /// <returns>The session, or null when the file has no such session.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public SessionInfo? Session(string sessionId, bool countEntries = true) => _queries.Session(sessionId, countEntries);

    /// <summary>Every session in the file, newest first, with its entry count.</summary>
    /// <returns>The sessions.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<SessionInfo> Sessions() => _queries.Sessions();

    /// <summary>
    /// A text summary of the latest entries of every session but <paramref name="excludeSessionId"/> (the <c>debug</c>
    /// channel left out), oldest first, one line per entry (<c>[MODE:channel] content</c>, each cut to 200 characters),
    /// at most <paramref name="budget"/> characters in all; empty when there is nothing to summarize.
    /// </summary>
    /// <param name="excludeSessionId">The session to leave out, usually the caller's own; null leaves none out.</param>
    /// <param name="budget">The most characters to return.</param>
    /// <returns>The summary.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public string CrossSessionContext(string? excludeSessionId, int budget = 2000) => _queries.CrossSessionContext(excludeSessionId, budget);

    /// <summary>Releases the file, and removes the <c>-wal</c> and <c>-shm</c> files reading created if nobody else uses them. Safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _connections.ClearPool();
        if (_removeSideFiles && !_connections.Immutable && StoreOpening.WalExists(Path))
        {
            RemoveSideFiles();
        }
    }

    private static FileNotFoundException Missing(string path)
        => new($"No session store at '{path}': the file does not exist (a read-only view never creates one). Open a SessionStore to create it, or check the path.", path);

    private static bool ReadOnlyFile(string path)
    {
        try
        {
            return StoreOpening.IsReadOnlyFile(path);
        }
        catch (SqliteException)
        {
            return true;
        }
    }

    /// <summary>The first read; in a read-only folder (SQLite cannot create the -wal file) it switches to an immutable read.</summary>
    private void Check()
    {
        try
        {
            using var connection = OpenConnection();
            connection.ExecuteScalar<long>("PRAGMA user_version");
        }
        catch (SqliteException ex) when (!_connections.Immutable && StoreErrors.From(ex, Path, "read") is StoreReadOnlyException)
        {
            _connections.ClearPool();
            _connections = StoreConnections.ForReading(Path, _busyTimeout, immutable: true);
            using var connection = OpenConnection();
            connection.ExecuteScalar<long>("PRAGMA user_version");
        }
        catch (SqliteException ex)
        {
            throw StoreErrors.From(ex, Path, "read");
        }
    }

    /// <summary>Opens the file for writing once and closes it: as the last connection, SQLite deletes the -wal and -shm files; otherwise it leaves them to their users.</summary>
    private void RemoveSideFiles()
    {
        try
        {
            var cleanup = StoreConnections.ForWriting(Path, TimeSpan.Zero, create: false);
            using (var connection = cleanup.Open())
            {
                connection.ExecuteScalar<long>("PRAGMA user_version");
            }

            cleanup.ClearPool();
        }
        catch (SqliteException)
        {
            // Best effort: another process holds the file, and then the side files are its own.
        }
    }

    private SqliteConnection OpenConnection()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return _connections.Open();
    }
}

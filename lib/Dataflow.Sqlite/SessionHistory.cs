using Dapper;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// A read-only view of an existing session store: the same queries as <see cref="SessionStore"/>, without starting a
/// session or a writer. It opens the file read-only, so it never creates, migrates or changes it, and it sees what
/// open stores have committed (<see cref="SessionStore.FlushAsync"/>) as of each query. Thread-safe.
/// </summary>
public sealed class SessionHistory : IDisposable
{
    private readonly string _connectionString;
    private readonly int _busyTimeoutMs;
    private readonly HistoryQueries _queries;
    private int _disposed;

    private SessionHistory(string path, string connectionString, int busyTimeoutMs)
    {
        Path = path;
        _connectionString = connectionString;
        _busyTimeoutMs = busyTimeoutMs;
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
    /// <exception cref="StoreException">The file cannot be opened, is not a session store, or has a newer schema version.</exception>
    public static SessionHistory Open(string path, SessionStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var busyTimeout = (options ?? new SessionStoreOptions()).Validated().BusyTimeout;
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw Missing(fullPath);
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
        }.ToString();
        var history = new SessionHistory(fullPath, connectionString, (int)busyTimeout.TotalMilliseconds);
        try
        {
            history.CheckSchema();
            return history;
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SQLitePCL.raw.SQLITE_CANTOPEN && !File.Exists(fullPath))
        {
            history.Dispose();
            throw Missing(fullPath);
        }
        catch (SqliteException ex)
        {
            history.Dispose();
            throw new StoreException($"Could not open the session store '{fullPath}': {ex.Message} (SQLite error {ex.SqliteErrorCode}).", ex);
        }
        catch
        {
            history.Dispose();
            throw;
        }
    }

    /// <summary>Full-text search over every session (or the filtered ones), newest first unless ranked.</summary>
    /// <param name="query">Plain text (every word must occur; a trailing <c>*</c> makes a prefix) or, with <see cref="SearchOptions.Fts"/>, FTS5 syntax.</param>
    /// <param name="options">Limit, order, mode and filters.</param>
    /// <returns>The hits, each with a highlighted <see cref="StoreEntry.Snippet"/>; empty when the plain text holds no searchable word.</returns>
    /// <exception cref="InvalidSearchQueryException">A raw FTS5 query is malformed.</exception>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<StoreEntry> Search(string query, SearchOptions? options = null) => _queries.Search(query, options);

    /// <summary>The newest entries across every session, newest first.</summary>
    /// <param name="n">How many.</param>
    /// <returns>The entries.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<StoreEntry> Recent(int n = 50) => _queries.Recent(n);

    /// <summary>Every entry of one session, oldest first.</summary>
    /// <param name="sessionId">The session.</param>
    /// <returns>The entries; empty for an unknown session.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<StoreEntry> SessionEntries(string sessionId) => _queries.SessionEntries(sessionId);

    /// <summary>The entries of one run in one session, oldest first: those whose metadata has <c>run_id</c> equal to <paramref name="runId"/>.</summary>
    /// <param name="sessionId">The session (run ids repeat across sessions).</param>
    /// <param name="runId">The run's id, such as <c>g7</c>.</param>
    /// <returns>The entries; empty when the session has no such run.</returns>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IReadOnlyList<StoreEntry> SessionEntries(string sessionId, string runId) => _queries.SessionEntries(sessionId, runId);

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

    /// <summary>Releases the file. Safe to call twice.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            using var connection = new SqliteConnection(_connectionString);
            SqliteConnection.ClearPool(connection);
        }
    }

    private static FileNotFoundException Missing(string path)
        => new($"No session store at '{path}': the file does not exist (a read-only view never creates one). Open a SessionStore to create it, or check the path.", path);

    private void CheckSchema()
    {
        using var connection = OpenConnection();
        var version = connection.ExecuteScalar<long>("PRAGMA user_version");
        Schema.CheckNotNewer(version, Path);
        var tables = connection.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name IN ('sessions', 'entries', 'entries_fts')");
        if (tables < 3)
        {
            throw new StoreException($"'{Path}' is an SQLite database but not a Dataflow session store (it has no sessions, entries and entries_fts tables).");
        }
    }

    private SqliteConnection OpenConnection()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            connection.Execute($"PRAGMA busy_timeout = {_busyTimeoutMs}");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}

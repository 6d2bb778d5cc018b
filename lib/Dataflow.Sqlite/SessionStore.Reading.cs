namespace Dataflow.Sqlite;

// The read side: searches, recent entries, a session's entries, sessions; each query on a pooled connection of its own.
public sealed partial class SessionStore
{
    /// <inheritdoc cref="SessionHistory.Search"/>
    public IReadOnlyList<StoreEntry> Search(string query, SearchOptions? options = null) => _queries.SearchList(query, options);

    /// <inheritdoc cref="SessionHistory.SearchAsync"/>
    public IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions? options = null, CancellationToken cancellationToken = default)
        => _queries.SearchAsync(query, options, cancellationToken);

    /// <inheritdoc cref="SessionHistory.Recent"/>
    public IReadOnlyList<StoreEntry> Recent(int n = 50) => _queries.RecentList(n);

    /// <inheritdoc cref="SessionHistory.RecentAsync"/>
    public IAsyncEnumerable<StoreEntry> RecentAsync(int n = 50, CancellationToken cancellationToken = default) => _queries.RecentAsync(n, cancellationToken);

    /// <summary>Every entry of one session, oldest first.</summary>
    /// <param name="sessionId">The session; this one when null.</param>
    /// <returns>The entries.</returns>
    public IReadOnlyList<StoreEntry> SessionEntries(string? sessionId = null) => _queries.SessionEntriesList(sessionId ?? SessionId, null);

    /// <inheritdoc cref="SessionHistory.SessionEntries(string, string)"/>
    public IReadOnlyList<StoreEntry> SessionEntries(string sessionId, string runId)
        => _queries.SessionEntriesList(sessionId, runId ?? throw new ArgumentNullException(nameof(runId)));

    /// <inheritdoc cref="SessionHistory.SessionEntriesAsync"/>
    public IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId = null, CancellationToken cancellationToken = default)
        => _queries.SessionEntriesAsync(sessionId, runId, cancellationToken);

    /// <inheritdoc cref="SessionHistory.SessionOfRun"/>
    public string? SessionOfRun(string runId) => _queries.SessionOfRun(runId);

    /// <inheritdoc cref="SessionHistory.Sessions"/>
    public IReadOnlyList<SessionInfo> Sessions() => _queries.Sessions();

    /// <summary>
    /// A text summary of the latest entries of other sessions (the <c>debug</c> channel left out), oldest first, one
    /// line per entry (<c>[MODE:channel] content</c>, each cut to 200 characters), at most <paramref name="budget"/>
    /// characters in all; empty when other sessions have written nothing.
    /// </summary>
    /// <param name="budget">The most characters to return.</param>
    /// <returns>The summary.</returns>
    public string CrossSessionContext(int budget = 2000) => _queries.CrossSessionContext(SessionId, budget);
}

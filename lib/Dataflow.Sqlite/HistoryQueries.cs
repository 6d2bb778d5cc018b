using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// The read side of the store, shared by <see cref="SessionStore"/> and <see cref="SessionHistory"/>: every query
/// opens a connection from the given factory (pooled) on the caller's thread. Entry queries stream: rows are read
/// one at a time (Dapper unbuffered) while the caller enumerates, so a huge limit costs no memory.
/// </summary>
internal sealed partial class HistoryQueries(Func<SqliteConnection> openConnection)
{
    internal const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    private const string SelectEntry =
        "e.id AS Id, e.session_id AS SessionId, e.timestamp AS Timestamp, e.mode AS Mode, e.channel AS Channel, " +
        "e.direction AS Direction, e.content AS Content, e.metadata AS Metadata, e.run_id AS RunId, e.event AS Event";

    /// <summary>See <see cref="SessionStore.SearchAsync"/>.</summary>
    public IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions? options, CancellationToken cancellationToken)
        => Search(query, options) is { } search ? ReadAsync(search.Sql, search.Parameters, search.Fts ? query : null, cancellationToken) : AsyncEmpty();

    /// <summary>See <see cref="SessionStore.Search"/>.</summary>
    public IReadOnlyList<StoreEntry> SearchList(string query, SearchOptions? options)
        => Search(query, options) is { } search ? [.. Read(search.Sql, search.Parameters, search.Fts ? query : null)] : [];

    /// <summary>See <see cref="SessionStore.RecentAsync"/>.</summary>
    public IAsyncEnumerable<StoreEntry> RecentAsync(int n, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 0);
        return ReadAsync($"SELECT {SelectEntry} FROM entries e ORDER BY e.id DESC LIMIT @N", new { N = n }, null, cancellationToken);
    }

    /// <summary>See <see cref="SessionStore.Recent"/>.</summary>
    public IReadOnlyList<StoreEntry> RecentList(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 0);
        return [.. Read($"SELECT {SelectEntry} FROM entries e ORDER BY e.id DESC LIMIT @N", new { N = n }, null)];
    }

    /// <summary>Every entry of one session, or of one run in it, oldest first; streamed.</summary>
    public IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId, CancellationToken cancellationToken)
    {
        var (sql, parameters) = SessionEntriesQuery(sessionId, runId);
        return ReadAsync(sql, parameters, null, cancellationToken);
    }

    /// <summary>Every entry of one session, or of one run in it, oldest first.</summary>
    public IReadOnlyList<StoreEntry> SessionEntriesList(string sessionId, string? runId)
    {
        var (sql, parameters) = SessionEntriesQuery(sessionId, runId);
        return [.. Read(sql, parameters, null)];
    }

    /// <summary>The newest session that has entries of <paramref name="runId"/>, or null: one index lookup.</summary>
    public string? SessionOfRun(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        using var connection = openConnection();
        return connection.ExecuteScalar<string?>("SELECT session_id FROM entries WHERE run_id = @RunId ORDER BY id DESC LIMIT 1", new { RunId = runId });
    }

    /// <summary>One page of a session's runs; see <see cref="SessionHistory.RunsAsync"/>.</summary>
    public IAsyncEnumerable<RunSummary> RunsAsync(string sessionId, RunQuery? query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        query ??= new RunQuery();
        var problems = query.Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(query));
        }

        var (sql, parameters) = RunsQuery(sessionId, query);
        return ReadRunsAsync(sql, parameters, cancellationToken);
    }

    /// <summary>One session with its entry count, or null; see <see cref="SessionHistory.Session"/>.</summary>
    public SessionInfo? Session(string sessionId, bool countEntries)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        using var connection = openConnection();
        var count = countEntries ? "(SELECT count(*) FROM entries e WHERE e.session_id = s.id)" : "-1";
        return connection.Query<SessionRow>(
                "SELECT s.id AS Id, s.started_at AS StartedAt, s.cwd AS Cwd, s.metadata AS Metadata, " +
                count + " AS EntryCount FROM sessions s WHERE s.id = @Id",
                new { Id = sessionId })
            .Select(r => new SessionInfo(r.Id, Parse(r.StartedAt), r.Cwd, r.Metadata, r.EntryCount))
            .FirstOrDefault();
    }

    /// <summary>See <see cref="SessionStore.Sessions"/>.</summary>
    public IReadOnlyList<SessionInfo> Sessions()
    {
        using var connection = openConnection();
        return connection.Query<SessionRow>(
                "SELECT s.id AS Id, s.started_at AS StartedAt, s.cwd AS Cwd, s.metadata AS Metadata, " +
                "(SELECT count(*) FROM entries e WHERE e.session_id = s.id) AS EntryCount FROM sessions s ORDER BY s.started_at DESC, s.id DESC")
            .Select(r => new SessionInfo(r.Id, Parse(r.StartedAt), r.Cwd, r.Metadata, r.EntryCount))
            .ToList();
    }

    /// <summary>See <see cref="SessionStore.CrossSessionContext"/>; every session counts when <paramref name="excludeSessionId"/> is null.</summary>
    public string CrossSessionContext(string? excludeSessionId, int budget)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budget);
        const string Header = "Previous session context:";
        if (budget <= Header.Length)
        {
            return string.Empty;
        }

        var exclude = excludeSessionId is null ? string.Empty : "e.session_id <> @SessionId AND ";
        var entries = Read(
            $"SELECT {SelectEntry} FROM entries e WHERE {exclude}e.channel <> 'debug' ORDER BY e.id DESC LIMIT @N",
            new { SessionId = excludeSessionId, N = Math.Clamp(budget / 20, 1, 500) },
            null);
        var lines = new List<string>();
        var used = Header.Length;
        foreach (var entry in entries)
        {
            var content = entry.Content.ReplaceLineEndings(" ");
            if (content.Length > 200)
            {
                content = string.Concat(content.AsSpan(0, 197), "...");
            }

            var line = $"[{entry.Mode}:{entry.Channel}] {content}";
            if (used + 1 + line.Length > budget)
            {
                break;
            }

            lines.Add(line);
            used += 1 + line.Length;
        }

        if (lines.Count == 0)
        {
            return string.Empty;
        }

        lines.Reverse();
        return Header + "\n" + string.Join('\n', lines);
    }

    internal static string Format(DateTimeOffset time) => time.UtcDateTime.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text)
        => DateTimeOffset.TryParseExact(text, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static StoreEntry ToEntry(EntryRow r)
        => new(r.Id, r.SessionId, Parse(r.Timestamp), r.Mode, r.Channel, r.Direction, r.Content, r.Metadata) { Snippet = r.Snippet, RunId = r.RunId, Event = r.Event };

    private static async IAsyncEnumerable<StoreEntry> AsyncEmpty()
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield break;
    }

    /// <summary>Streams the rows; a raw FTS5 query (<paramref name="ftsQuery"/> not null) that SQLite rejects becomes <see cref="InvalidSearchQueryException"/>.</summary>
    private IEnumerable<StoreEntry> Read(string sql, object parameters, string? ftsQuery)
    {
        using var connection = openConnection();
        using var rows = Translate(() => connection.Query<EntryRow>(sql, parameters, buffered: false).GetEnumerator(), ftsQuery);
        while (Translate(rows.MoveNext, ftsQuery))
        {
            yield return ToEntry(rows.Current);
        }
    }

    private async IAsyncEnumerable<StoreEntry> ReadAsync(string sql, object parameters, string? ftsQuery, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = openConnection();
        await using (connection.ConfigureAwait(false))
        {
            var rows = connection.QueryUnbufferedAsync<EntryRow>(sql, parameters).GetAsyncEnumerator(cancellationToken);
            await using (rows.ConfigureAwait(false))
            {
                while (await TranslateAsync(rows.MoveNextAsync(), ftsQuery).ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return ToEntry(rows.Current);
                }
            }
        }
    }

    private async IAsyncEnumerable<RunSummary> ReadRunsAsync(string sql, object parameters, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var connection = openConnection();
        await using (connection.ConfigureAwait(false))
        {
            await foreach (var r in connection.QueryUnbufferedAsync<RunRow>(sql, parameters).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var state = r.Outcome switch
                {
                    "complete" => StoredRunState.Done,
                    "fail" => StoredRunState.Failed,
                    "cancel" => StoredRunState.Cancelled,
                    _ => StoredRunState.Unfinished,
                };
                yield return new RunSummary(
                    r.Cursor,
                    r.SessionId,
                    r.RunId,
                    state,
                    r.StartedAt is null ? null : Parse(r.StartedAt),
                    r.Input,
                    r.EndedAt is null ? null : Parse(r.EndedAt),
                    r.DurationMs,
                    r.Node,
                    r.Error);
            }
        }
    }

    private static T Translate<T>(Func<T> read, string? ftsQuery)
    {
        try
        {
            return read();
        }
        catch (SqliteException ex) when (ftsQuery is not null && ex.SqliteErrorCode == SQLitePCL.raw.SQLITE_ERROR)
        {
            throw InvalidSearchQueryException.For(ftsQuery, ex);
        }
    }

    private static async ValueTask<bool> TranslateAsync(ValueTask<bool> read, string? ftsQuery)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (SqliteException ex) when (ftsQuery is not null && ex.SqliteErrorCode == SQLitePCL.raw.SQLITE_ERROR)
        {
            throw InvalidSearchQueryException.For(ftsQuery, ex);
        }
    }

    private sealed class EntryRow
    {
        public long Id { get; set; }

        public string SessionId { get; set; } = string.Empty;

        public string Timestamp { get; set; } = string.Empty;

        public string Mode { get; set; } = string.Empty;

        public string Channel { get; set; } = string.Empty;

        public string Direction { get; set; } = string.Empty;

        public string Content { get; set; } = string.Empty;

        public string? Metadata { get; set; }

        public string? Snippet { get; set; }

        public string? RunId { get; set; }

        public string? Event { get; set; }
    }

    private sealed class RunRow
    {
        public long Cursor { get; set; }

        public string SessionId { get; set; } = string.Empty;

        public string RunId { get; set; } = string.Empty;

        public string? Outcome { get; set; }

        public string? StartedAt { get; set; }

        public string? Input { get; set; }

        public string? EndedAt { get; set; }

        public double? DurationMs { get; set; }

        public string? Node { get; set; }

        public string? Error { get; set; }
    }

    private sealed class SessionRow
    {
        public string Id { get; set; } = string.Empty;

        public string StartedAt { get; set; } = string.Empty;

        public string? Cwd { get; set; }

        public string? Metadata { get; set; }

        public long EntryCount { get; set; }
    }
}

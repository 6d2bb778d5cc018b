using System.Globalization;
using System.Text;
using Dapper;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// The read side of the store, shared by <see cref="SessionStore"/> and <see cref="SessionHistory"/>: every query
/// opens a connection from the given factory (pooled), runs on the caller's thread and closes it again.
/// </summary>
internal sealed class HistoryQueries(Func<SqliteConnection> openConnection)
{
    internal const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    private const string SelectEntry =
        "e.id AS Id, e.session_id AS SessionId, e.timestamp AS Timestamp, e.mode AS Mode, e.channel AS Channel, " +
        "e.direction AS Direction, e.content AS Content, e.metadata AS Metadata";

    /// <summary>See <see cref="SessionStore.Search"/>.</summary>
    public IReadOnlyList<StoreEntry> Search(string query, SearchOptions? options)
    {
        ArgumentNullException.ThrowIfNull(query);
        options ??= new SearchOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Limit, 1, nameof(options.Limit));
        var match = options.Fts ? query : PlainQuery.ToFts(query);
        if (string.IsNullOrWhiteSpace(match))
        {
            return [];
        }

        var sql = new StringBuilder()
            .Append("SELECT ").Append(SelectEntry)
            .Append(", snippet(entries_fts, 0, @Open, @Close, '…', 16) AS Snippet ")
            .Append("FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid WHERE entries_fts MATCH @Match");
        if (options.SessionId is not null)
        {
            sql.Append(" AND e.session_id = @SessionId");
        }

        if (options.Channel is not null)
        {
            sql.Append(" AND e.channel = @Channel");
        }

        if (options.Since is not null)
        {
            sql.Append(" AND e.timestamp >= @Since");
        }

        if (options.Until is not null)
        {
            sql.Append(" AND e.timestamp <= @Until");
        }

        // Newest first walks the FTS5 index backwards by rowid and stops at the limit; bm25 must rank every match.
        sql.Append(options.Rank ? " ORDER BY bm25(entries_fts) LIMIT @Limit" : " ORDER BY entries_fts.rowid DESC LIMIT @Limit");
        var parameters = new
        {
            Match = match,
            Open = options.HighlightStart ?? string.Empty,
            Close = options.HighlightEnd ?? string.Empty,
            options.SessionId,
            options.Channel,
            Since = options.Since is { } since ? Format(since) : null,
            Until = options.Until is { } until ? Format(until) : null,
            options.Limit,
        };
        try
        {
            return Read(sql.ToString(), parameters);
        }
        catch (SqliteException ex) when (options.Fts && ex.SqliteErrorCode == SQLitePCL.raw.SQLITE_ERROR)
        {
            throw InvalidSearchQueryException.For(query, ex);
        }
    }

    /// <summary>See <see cref="SessionStore.Recent"/>.</summary>
    public IReadOnlyList<StoreEntry> Recent(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 0);
        return Read($"SELECT {SelectEntry} FROM entries e ORDER BY e.id DESC LIMIT @N", new { N = n });
    }

    /// <summary>Every entry of one session, oldest first.</summary>
    public IReadOnlyList<StoreEntry> SessionEntries(string sessionId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        return Read($"SELECT {SelectEntry} FROM entries e WHERE e.session_id = @SessionId ORDER BY e.id", new { SessionId = sessionId });
    }

    /// <summary>The entries of one session whose metadata has <c>run_id</c> equal to <paramref name="runId"/>, oldest first.</summary>
    public IReadOnlyList<StoreEntry> SessionEntries(string sessionId, string runId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        ArgumentNullException.ThrowIfNull(runId);

        // json_valid first: a file from before this release may hold metadata that is not JSON, and json_extract would throw.
        return Read(
            $"SELECT {SelectEntry} FROM entries e WHERE e.session_id = @SessionId " +
            "AND CASE WHEN json_valid(e.metadata) THEN json_extract(e.metadata, '$.run_id') END = @RunId ORDER BY e.id",
            new { SessionId = sessionId, RunId = runId });
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
            new { SessionId = excludeSessionId, N = Math.Clamp(budget / 20, 1, 500) });
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

    private List<StoreEntry> Read(string sql, object parameters)
    {
        using var connection = openConnection();
        return connection.Query<EntryRow>(sql, parameters)
            .Select(r => new StoreEntry(r.Id, r.SessionId, Parse(r.Timestamp), r.Mode, r.Channel, r.Direction, r.Content, r.Metadata) { Snippet = r.Snippet })
            .ToList();
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

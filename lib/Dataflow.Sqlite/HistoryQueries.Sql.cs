using System.Text;

namespace Dataflow.Sqlite;

// The SQL of the read side: entries of a session, runs with their filters, and searches.
internal sealed partial class HistoryQueries
{
    private static (string Sql, object Parameters) SessionEntriesQuery(string sessionId, string? runId)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        var run = runId is null ? string.Empty : " AND e.run_id = @RunId";
        return ($"SELECT {SelectEntry} FROM entries e WHERE e.session_id = @SessionId{run} ORDER BY e.id", new { SessionId = sessionId, RunId = runId });
    }

    /// <summary>
    /// The SQL of a page of runs. By start: the session's start events newest first (index on session and event, in
    /// id order), each joined to its run's end event (index on run and session). By end: the session's end events of
    /// one kind, or those at one node (the partial index over end events), each joined to its run's start event.
    /// Either way the outer scan is an index range read backwards that stops at the limit. The inner lookup names its
    /// index: left to itself, SQLite picks the session-and-event index for it (equalities on both columns) and reads
    /// every start of the session for each run. Only fixed SQL fragments are appended; every value is a parameter.
    /// </summary>
    internal static (string Sql, object Parameters) RunsQuery(string sessionId, RunQuery query)
    {
        const string Ends = "('complete', 'fail', 'cancel')";
        var sql = new StringBuilder("SELECT ");
        string row;
        if (query.ByEnd)
        {
            row = "f";
            sql.Append("f.id AS Cursor, f.session_id AS SessionId, f.run_id AS RunId, f.event AS Outcome, s.timestamp AS StartedAt, s.content AS Input, ")
                .Append("f.timestamp AS EndedAt, CAST(json_extract(f.metadata, '$.duration_ms') AS REAL) AS DurationMs, json_extract(f.metadata, '$.node') AS Node, json_extract(f.metadata, '$.error') AS Error ")
                .Append("FROM entries f LEFT JOIN entries s ON s.id = (SELECT x.id FROM entries x INDEXED BY idx_entries_run WHERE x.run_id = f.run_id AND x.session_id = f.session_id AND x.event = 'start' ORDER BY x.id LIMIT 1) ")
                .Append("WHERE f.session_id = @SessionId AND f.run_id IS NOT NULL");
            sql.Append(query.State is { } state and not StoredRunState.Unfinished ? " AND f.event = @Outcome" : string.Empty);
            sql.Append(query.Node is not null ? " AND f.event IN " + Ends + " AND json_extract(f.metadata, '$.node') = @Node" : string.Empty);
        }
        else
        {
            row = "s";
            sql.Append("s.id AS Cursor, s.session_id AS SessionId, s.run_id AS RunId, f.event AS Outcome, s.timestamp AS StartedAt, s.content AS Input, ")
                .Append("f.timestamp AS EndedAt, CAST(json_extract(f.metadata, '$.duration_ms') AS REAL) AS DurationMs, json_extract(f.metadata, '$.node') AS Node, json_extract(f.metadata, '$.error') AS Error ")
                .Append("FROM entries s LEFT JOIN entries f ON f.id = (SELECT x.id FROM entries x INDEXED BY idx_entries_run WHERE x.run_id = s.run_id AND x.session_id = s.session_id AND x.event IN " + Ends + " ORDER BY x.id DESC LIMIT 1) ")
                .Append("WHERE s.session_id = @SessionId AND s.event = 'start' AND s.run_id IS NOT NULL");
            sql.Append(query.State == StoredRunState.Unfinished ? " AND f.id IS NULL" : string.Empty);
        }

        sql.Append(query.Before is not null ? $" AND {row}.id < @Before" : string.Empty);
        sql.Append(query.Since is not null ? $" AND {row}.timestamp >= @Since" : string.Empty);
        sql.Append(query.Until is not null ? $" AND {row}.timestamp <= @Until" : string.Empty);
        sql.Append($" ORDER BY {row}.id DESC LIMIT @Limit");
        var parameters = new
        {
            SessionId = sessionId,
            Outcome = query.State switch
            {
                StoredRunState.Done => "complete",
                StoredRunState.Failed => "fail",
                StoredRunState.Cancelled => "cancel",
                _ => null,
            },
            query.Node,
            query.Before,
            Since = query.Since is { } since ? Format(since) : null,
            Until = query.Until is { } until ? Format(until) : null,
            query.Limit,
        };
        return (sql.ToString(), parameters);
    }

    /// <summary>The SQL and parameters of a search, or null when the plain text holds no searchable word.</summary>
    private static SearchQuery? Search(string query, SearchOptions? options)
    {
        ArgumentNullException.ThrowIfNull(query);
        options ??= new SearchOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Limit, 1, nameof(options.Limit));
        var match = options.Fts ? query : PlainQuery.ToFts(query);
        if (string.IsNullOrWhiteSpace(match))
        {
            return null;
        }

        // Filters are fixed SQL fragments; the user's values go in parameters only.
        var sql = new StringBuilder()
            .Append("SELECT ").Append(SelectEntry)
            .Append(", snippet(entries_fts, 0, @Open, @Close, '…', 16) AS Snippet ")
            .Append("FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid WHERE entries_fts MATCH @Match");
        Filter(sql, options.SessionId, " AND e.session_id = @SessionId");
        Filter(sql, options.Channel, " AND e.channel = @Channel");
        Filter(sql, options.RunId, " AND e.run_id = @RunId");
        Filter(sql, options.Event, " AND e.event = @Event");
        Filter(sql, options.Since, " AND e.timestamp >= @Since");
        Filter(sql, options.Until, " AND e.timestamp <= @Until");

        // Newest first walks the FTS5 index backwards by rowid and stops at the limit; bm25 must rank every match.
        sql.Append(options.Rank ? " ORDER BY bm25(entries_fts) LIMIT @Limit" : " ORDER BY entries_fts.rowid DESC LIMIT @Limit");
        var parameters = new
        {
            Match = match,
            Open = options.HighlightStart ?? string.Empty,
            Close = options.HighlightEnd ?? string.Empty,
            options.SessionId,
            options.Channel,
            options.RunId,
            Event = options.Event?.ToLowerInvariant(),
            Since = options.Since is { } since ? Format(since) : null,
            Until = options.Until is { } until ? Format(until) : null,
            options.Limit,
        };
        return new SearchQuery(sql.ToString(), parameters, options.Fts);

        static void Filter(StringBuilder sql, object? value, string condition)
        {
            if (value is not null)
            {
                sql.Append(condition);
            }
        }
    }

    private sealed record SearchQuery(string Sql, object Parameters, bool Fts);
}

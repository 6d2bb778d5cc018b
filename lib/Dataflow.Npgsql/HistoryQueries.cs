using System.Runtime.CompilerServices;
using System.Text;
using Dapper;
using Npgsql;

namespace Dataflow.Npgsql;

/// <summary>
/// The read side of the store, shared by <see cref="PostgresSessionStore"/> and <see cref="PostgresSessionHistory"/>.
/// Every query takes a pooled connection for its own duration. Entry queries stream: rows are read one at a time
/// (Dapper unbuffered) while the caller enumerates, so a huge limit costs no memory. User text reaches the server only
/// as parameters; the SQL is built from fixed fragments and our own schema name.
/// </summary>
internal sealed class HistoryQueries(PostgresDatabase database, Action throwIfDisposed)
{
    /// <summary>ts_headline marks matches with these private-use characters, replaced by the caller's highlight text
    /// afterwards, so that no caller text is ever parsed as ts_headline options.</summary>
    private const char OpenMark = '\uE000';

    private const char CloseMark = '\uE001';

    private const string HeadlineOptions = "StartSel=\uE000, StopSel=\uE001, MaxWords=16, MinWords=6, ShortWord=0";

    private const string SelectEntry =
        "e.id AS Id, e.session_id AS SessionId, e.timestamp AS Timestamp, e.mode AS Mode, e.channel AS Channel, " +
        "e.direction AS Direction, e.content AS Content, e.metadata AS Metadata, e.run_id AS RunId, e.event AS Event";

    /// <summary>See <see cref="PostgresSessionHistory.SearchAsync"/>.</summary>
    public IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        options ??= new SearchOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Limit, 1, nameof(options.Limit));
        ArgumentNullException.ThrowIfNull(options.HighlightStart, nameof(options.HighlightStart));
        ArgumentNullException.ThrowIfNull(options.HighlightEnd, nameof(options.HighlightEnd));
        var parameters = new DynamicParameters();
        string tsquery;
        switch (options.Syntax)
        {
            case SearchSyntax.Plain:
                if (PlainQuery.ToTsQuery(query) is not { } plain)
                {
                    return AsyncEmpty();
                }

                tsquery = plain.Sql;
                parameters.AddDynamicParams(plain.Parameters);
                break;
            case SearchSyntax.Web:
                tsquery = "websearch_to_tsquery('simple', @Query)";
                parameters.Add("Query", PgText.Clean(query));
                break;
            case SearchSyntax.TsQuery:
                tsquery = "to_tsquery('simple', @Query)";
                parameters.Add("Query", PgText.Clean(query));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Syntax, "SearchOptions.Syntax must be Plain, Web or TsQuery.");
        }

        // The filters are fixed fragments; their values go in parameters only. The limit applies before ts_headline,
        // so only the returned rows are highlighted.
        var sql = new StringBuilder()
            .Append("SELECT h.*, ts_headline('simple', h.Content, ").Append(tsquery).Append(", @Headline) AS Snippet FROM (")
            .Append("SELECT ").Append(SelectEntry).Append(options.Rank ? ", ts_rank(e.search, " + tsquery + ") AS Rank" : string.Empty)
            .Append(" FROM ").Append(database.Table("entries")).Append(" e WHERE e.search @@ ").Append(tsquery);
        Filter(options.SessionId, " AND e.session_id = @SessionId", "SessionId", PgText.CleanOrNull(options.SessionId));
        Filter(options.Channel, " AND e.channel = @Channel", "Channel", PgText.CleanOrNull(options.Channel));
        Filter(options.RunId, " AND e.run_id = @RunId", "RunId", PgText.CleanOrNull(options.RunId));
        Filter(options.Event, " AND e.event = @Event", "Event", PgText.CleanOrNull(options.Event?.ToLowerInvariant()));
        Filter(options.Since, " AND e.timestamp >= @Since", "Since", options.Since?.ToUniversalTime());
        Filter(options.Until, " AND e.timestamp <= @Until", "Until", options.Until?.ToUniversalTime());
        var order = options.Rank ? " ORDER BY Rank DESC, Id DESC" : " ORDER BY Id DESC";
        sql.Append(options.Rank ? " ORDER BY Rank DESC, e.id DESC" : " ORDER BY e.id DESC").Append(" LIMIT @Limit) h").Append(order);
        parameters.Add("Limit", options.Limit);
        parameters.Add("Headline", HeadlineOptions);
        var highlight = (PgText.Clean(options.HighlightStart), PgText.Clean(options.HighlightEnd));
        return ReadAsync(sql.ToString(), parameters, options.Syntax == SearchSyntax.TsQuery ? query : null, highlight, cancellationToken);

        void Filter(object? value, string condition, string name, object? parameter)
        {
            if (value is not null)
            {
                sql.Append(condition);
                parameters.Add(name, parameter);
            }
        }
    }

    /// <summary>See <see cref="PostgresSessionHistory.RecentAsync"/>.</summary>
    public IAsyncEnumerable<StoreEntry> RecentAsync(int n, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 0);
        return ReadAsync($"SELECT {SelectEntry} FROM {database.Table("entries")} e ORDER BY e.id DESC LIMIT @N", new { N = n }, null, default, cancellationToken);
    }

    /// <summary>Every entry of one session, or of one run in it, oldest first; streamed.</summary>
    public IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        var run = runId is null ? string.Empty : " AND e.run_id = @RunId";
        return ReadAsync(
            $"SELECT {SelectEntry} FROM {database.Table("entries")} e WHERE e.session_id = @SessionId{run} ORDER BY e.id",
            new { SessionId = PgText.Clean(sessionId), RunId = PgText.CleanOrNull(runId) },
            null,
            default,
            cancellationToken);
    }

    /// <summary>The newest session that has entries of <paramref name="runId"/>, or null: one index lookup.</summary>
    public async Task<string?> SessionOfRunAsync(string runId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return await WithConnectionAsync(
            "read",
            connection => connection.ExecuteScalarAsync<string?>(new CommandDefinition(
                $"SELECT session_id FROM {database.Table("entries")} WHERE run_id = @RunId ORDER BY id DESC LIMIT 1",
                new { RunId = PgText.Clean(runId) },
                cancellationToken: cancellationToken)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every session, newest first, with its entry count.</summary>
    public async Task<IReadOnlyList<SessionInfo>> SessionsAsync(CancellationToken cancellationToken)
    {
        var rows = await WithConnectionAsync(
            "read",
            connection => connection.QueryAsync<SessionRow>(new CommandDefinition(
                $"SELECT s.id AS Id, s.started_at AS StartedAt, s.cwd AS Cwd, s.metadata AS Metadata, " +
                $"(SELECT count(*) FROM {database.Table("entries")} e WHERE e.session_id = s.id) AS EntryCount " +
                $"FROM {database.Table("sessions")} s ORDER BY s.started_at DESC, s.id DESC",
                cancellationToken: cancellationToken)),
            cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(r => new SessionInfo(r.Id, Utc(r.StartedAt), r.Cwd, r.Metadata, r.EntryCount))];
    }

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    private static async IAsyncEnumerable<StoreEntry> AsyncEmpty()
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield break;
    }

    private async Task<T> WithConnectionAsync<T>(string doing, Func<NpgsqlConnection, Task<T>> query, CancellationToken cancellationToken)
    {
        throwIfDisposed();
        var connection = await database.OpenAsync(doing, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                return await query(connection).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw database.Error(ex, doing);
            }
        }
    }

    /// <summary>Streams the rows; a raw tsquery (<paramref name="rawQuery"/> not null) that the server rejects becomes <see cref="InvalidSearchQueryException"/>.</summary>
    private async IAsyncEnumerable<StoreEntry> ReadAsync(string sql, object parameters, string? rawQuery, (string Open, string Close) highlight, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        throwIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var connection = await database.OpenAsync("read", cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var rows = connection.QueryUnbufferedAsync<EntryRow>(sql, parameters).GetAsyncEnumerator(cancellationToken);
            await using (rows.ConfigureAwait(false))
            {
                while (await TranslateAsync(rows.MoveNextAsync(), rawQuery, cancellationToken).ConfigureAwait(false))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var r = rows.Current;
                    yield return new StoreEntry(r.Id, r.SessionId, Utc(r.Timestamp), r.Mode, r.Channel, r.Direction, r.Content, r.Metadata)
                    {
                        Snippet = r.Snippet?.Replace(OpenMark.ToString(), highlight.Open, StringComparison.Ordinal).Replace(CloseMark.ToString(), highlight.Close, StringComparison.Ordinal),
                        RunId = r.RunId,
                        Event = r.Event,
                    };
                }
            }
        }
    }

    private async ValueTask<bool> TranslateAsync(ValueTask<bool> read, string? rawQuery, CancellationToken cancellationToken)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (PostgresException ex) when (rawQuery is not null && (ex.SqlState.StartsWith("42", StringComparison.Ordinal) || ex.SqlState.StartsWith("22", StringComparison.Ordinal) || ex.SqlState.StartsWith("54", StringComparison.Ordinal)))
        {
            throw InvalidSearchQueryException.For(rawQuery, ex);
        }
        catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw database.Error(ex, "read");
        }
    }

    private sealed class EntryRow
    {
        public long Id { get; init; }

        public string SessionId { get; init; } = string.Empty;

        public DateTime Timestamp { get; init; }

        public string Mode { get; init; } = string.Empty;

        public string Channel { get; init; } = string.Empty;

        public string Direction { get; init; } = string.Empty;

        public string Content { get; init; } = string.Empty;

        public string? Metadata { get; init; }

        public string? RunId { get; init; }

        public string? Event { get; init; }

        public string? Snippet { get; init; }

        public float Rank { get; init; }
    }

    private sealed class SessionRow
    {
        public string Id { get; init; } = string.Empty;

        public DateTime StartedAt { get; init; }

        public string? Cwd { get; init; }

        public string? Metadata { get; init; }

        public long EntryCount { get; init; }
    }
}

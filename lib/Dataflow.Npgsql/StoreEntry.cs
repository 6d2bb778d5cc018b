namespace Dataflow.Npgsql;

/// <summary>One stored entry.</summary>
/// <param name="Id">The entry's id: an identity column that grows with every insert into the database, so higher is newer
/// (within one session, exactly in recording order).</param>
/// <param name="SessionId">The session that wrote it.</param>
/// <param name="Timestamp">When it was recorded (UTC, microsecond precision).</param>
/// <param name="Mode">What produced it, such as <c>GRAPH</c>.</param>
/// <param name="Channel">The channel it was written to, such as <c>graph</c>.</param>
/// <param name="Direction"><c>input</c> or <c>output</c>.</param>
/// <param name="Content">The text, at most <see cref="PostgresSessionStore.MaxContentLength"/> characters.</param>
/// <param name="MetadataJson">Its structured fields as a JSON object, or null.</param>
public sealed record StoreEntry(
    long Id,
    string SessionId,
    DateTimeOffset Timestamp,
    string Mode,
    string Channel,
    string Direction,
    string Content,
    string? MetadataJson)
{
    /// <summary>For search hits: a short extract of <see cref="Content"/> around the match (<c>ts_headline</c>), matched
    /// words highlighted with <see cref="SearchOptions.HighlightStart"/> and <see cref="SearchOptions.HighlightEnd"/>; otherwise null.</summary>
    public string? Snippet { get; init; }

    /// <summary>The run the entry belongs to (its indexed <c>run_id</c> column), or null.</summary>
    public string? RunId { get; init; }

    /// <summary>The lifecycle event kind in lower case, such as <c>transition</c> (its indexed <c>event</c> column), or null.</summary>
    public string? Event { get; init; }
}

/// <summary>One session: the lifetime of one <see cref="PostgresSessionStore"/> instance.</summary>
/// <param name="Id">The session's id, a UUID v7 (time-ordered).</param>
/// <param name="StartedAt">When the session started (UTC).</param>
/// <param name="Cwd">The working directory it recorded.</param>
/// <param name="MetadataJson">Its metadata as a JSON object, or null.</param>
/// <param name="EntryCount">How many entries it has written so far.</param>
public sealed record SessionInfo(string Id, DateTimeOffset StartedAt, string? Cwd, string? MetadataJson, long EntryCount);

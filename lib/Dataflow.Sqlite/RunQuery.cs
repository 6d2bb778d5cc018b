namespace Dataflow.Sqlite;

/// <summary>How a stored run ended, as its session's entries tell it.</summary>
public enum StoredRunState
{
    /// <summary>The session has the run's start but no end: it is still running, or its process stopped before it ended.</summary>
    Unfinished,

    /// <summary>It ended with a <c>complete</c> event.</summary>
    Done,

    /// <summary>It ended with a <c>fail</c> event.</summary>
    Failed,

    /// <summary>It ended with a <c>cancel</c> event.</summary>
    Cancelled,
}

/// <summary>Which runs of a session <see cref="SessionHistory.RunsAsync"/> reads, and one page of them.</summary>
/// <remarks>
/// Pages are keyset pages: pass the <see cref="RunSummary.Cursor"/> of a page's last run as <see cref="Before"/> to
/// read the next (older) page. Without a state or node filter the runs come newest start first and the cursor is the
/// start entry's id; with <see cref="State"/> <see cref="StoredRunState.Done"/>, <see cref="StoredRunState.Failed"/> or
/// <see cref="StoredRunState.Cancelled"/>, or with <see cref="Node"/>, they come newest end first and the cursor is the
/// end entry's id. Each page is an index range that stops at <see cref="Limit"/>, however big the store.
/// </remarks>
public sealed class RunQuery
{
    /// <summary>The most runs a page may hold.</summary>
    public const int MaxLimit = 10_000;

    /// <summary>Only runs in this state.</summary>
    /// <value>The default value is null: every run.</value>
    public StoredRunState? State { get; set; }

    /// <summary>Only runs that ended at this node (the terminal node of a done run, the failing node of a failed one). Runs that have not ended have none.</summary>
    /// <value>The default value is null: any node.</value>
    public string? Node { get; set; }

    /// <summary>Only runs that started (with a state or node filter: ended) at or after this time.</summary>
    /// <value>The default value is null: no lower bound.</value>
    public DateTimeOffset? Since { get; set; }

    /// <summary>Only runs that started (with a state or node filter: ended) at or before this time.</summary>
    /// <value>The default value is null: no upper bound.</value>
    public DateTimeOffset? Until { get; set; }

    /// <summary>Only runs whose <see cref="RunSummary.Cursor"/> is below this one: the page after the run that had it.</summary>
    /// <value>The default value is null: the first page.</value>
    public long? Before { get; set; }

    /// <summary>The most runs to return, from 1 to <see cref="MaxLimit"/>.</summary>
    /// <value>The default value is 50.</value>
    public int Limit { get; set; } = 50;

    /// <summary>Whether runs come by their end entry (a state other than unfinished, or a node filter).</summary>
    internal bool ByEnd => Node is not null || State is StoredRunState.Done or StoredRunState.Failed or StoredRunState.Cancelled;

    /// <summary>Every problem with the query at once, or an empty list.</summary>
    internal IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Limit is < 1 or > MaxLimit)
        {
            problems.Add($"Limit must be from 1 to {MaxLimit}, was {Limit}.");
        }

        if (Before is <= 0)
        {
            problems.Add($"Before must be a positive cursor from a previous page, was {Before}.");
        }

        if (State is { } state && !Enum.IsDefined(state))
        {
            problems.Add($"State {(int)state} is not a StoredRunState.");
        }

        if (Node is not null && State == StoredRunState.Unfinished)
        {
            problems.Add("Node filters on the node a run ended at, and unfinished runs have not ended: drop Node or State.");
        }

        if (Since is { } since && Until is { } until && since > until)
        {
            problems.Add($"Since ({since:O}) is after Until ({until:O}).");
        }

        return problems;
    }
}

/// <summary>One run of a session, from its start and end entries.</summary>
/// <param name="Cursor">Where the run sits in its page's order; pass the last one as <see cref="RunQuery.Before"/> for the next page.</param>
/// <param name="SessionId">The session.</param>
/// <param name="RunId">The run's id, such as <c>g7</c>.</param>
/// <param name="State">How it ended, or <see cref="StoredRunState.Unfinished"/>.</param>
/// <param name="StartedAt">When it started, or null when its start event was not stored (a policy that leaves starts out).</param>
/// <param name="Input">Its start event's line, which carries the start node (<c>g7 started: Order { … }</c>), or null.</param>
/// <param name="EndedAt">When it ended, or null.</param>
/// <param name="DurationMs">Its duration in milliseconds as the end event recorded it, or null.</param>
/// <param name="Node">The node it ended at (for a failed run, the failing node), or null.</param>
/// <param name="Error">The error of a failed or cancelled run (<c>ExceptionType: message</c>), or null.</param>
public sealed record RunSummary(
    long Cursor,
    string SessionId,
    string RunId,
    StoredRunState State,
    DateTimeOffset? StartedAt,
    string? Input,
    DateTimeOffset? EndedAt,
    double? DurationMs,
    string? Node,
    string? Error);

namespace Dataflow.Storage;

/// <summary>One entry to record through an <see cref="IEntryStore"/>: what a producer hands to a store backend.</summary>
/// <param name="Timestamp">When it happened; stored as given (UTC).</param>
/// <param name="Mode">What produced the entry, such as <c>GRAPH</c>.</param>
/// <param name="Channel">The channel it was written to, such as <c>graph</c>.</param>
/// <param name="Direction"><c>input</c> or <c>output</c>.</param>
/// <param name="Content">The text to store and index.</param>
/// <param name="Metadata">Structured fields, stored as JSON; null for none.</param>
public sealed record StoreRecord(
    DateTimeOffset Timestamp,
    string Mode,
    string Channel,
    string Direction,
    string Content,
    IReadOnlyDictionary<string, object?>? Metadata = null)
{
    /// <summary>The run the entry belongs to, stored in its own indexed column; null when it belongs to none
    /// (a backend may then take it from a <c>run_id</c> text field of <see cref="Metadata"/>).</summary>
    public string? RunId { get; init; }

    /// <summary>The lifecycle event kind in lower case, such as <c>transition</c>, stored in its own indexed column;
    /// null when the entry is not an event (a backend may then take it from an <c>event</c> text field of <see cref="Metadata"/>).</summary>
    public string? Event { get; init; }
}

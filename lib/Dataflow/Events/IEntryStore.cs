namespace Dataflow.Events;

/// <summary>
/// Somewhere to record entries for later search: the seam between channels (and the engine's event
/// sinks) and a persistent store such as <c>Dataflow.Sqlite.SessionStore</c>.
/// </summary>
public interface IEntryStore
{
    /// <summary>Queues one entry for writing. Waits while the store's queue is full; never drops.</summary>
    /// <param name="mode">What produced the entry, such as <c>GRAPH</c>.</param>
    /// <param name="channel">The channel it was written to, such as <c>graph</c>.</param>
    /// <param name="direction"><c>input</c> or <c>output</c>.</param>
    /// <param name="content">The text to store and index.</param>
    /// <param name="metadata">Structured fields, stored as JSON.</param>
    /// <param name="cancellationToken">Stops waiting for room in the queue.</param>
    /// <returns>A task that completes when the entry is queued (not yet durable: see the store's flush).</returns>
    /// <exception cref="ArgumentException"><paramref name="direction"/> is neither <c>input</c> nor <c>output</c>.</exception>
    ValueTask RecordAsync(string mode, string channel, string direction, string content, IReadOnlyDictionary<string, object?>? metadata = null, CancellationToken cancellationToken = default);
}

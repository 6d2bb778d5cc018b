namespace Dataflow.Storage;

/// <summary>
/// Somewhere to record entries for later search: the seam between channels (and the engine's event sinks) and a
/// persistent store such as <c>Dataflow.Sqlite.SessionStore</c>. A backend implements it; producers depend only on it.
/// </summary>
public interface IEntryStore
{
    /// <summary>Queues one entry for writing. Waits while the store's queue is full; never drops.</summary>
    /// <param name="entry">The entry, with its own timestamp, run id and event kind.</param>
    /// <param name="cancellationToken">Stops waiting for room in the queue; the entry is then not recorded.</param>
    /// <returns>A task that completes when the entry is queued (not yet durable: see the store's flush).</returns>
    /// <exception cref="ArgumentException">The entry's direction is neither <c>input</c> nor <c>output</c>.</exception>
    ValueTask RecordAsync(StoreRecord entry, CancellationToken cancellationToken = default);
}

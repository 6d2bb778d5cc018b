using Dataflow.Storage;

namespace Dataflow.Events;

/// <summary>
/// An <see cref="IEventSink"/> that records each lifecycle event as one store entry through the store seam
/// (<see cref="IEntryStore"/>), so any backend can keep the history: direction <c>output</c>, the event's time,
/// <see cref="GraphEvent.Content"/> as content, <see cref="GraphEvent.Metadata"/> as metadata, and its run id and
/// event kind in their own fields. Attach it with <see cref="EventHub.AddSink(IEventSink, SinkOptions?)"/>; the hub's sink policy decides which
/// events reach it.
/// </summary>
public sealed class StoreEventSink : IEventSink
{
    private readonly IEntryStore _store;
    private readonly string _channel;
    private readonly string _mode;

    /// <summary>Creates the sink.</summary>
    /// <param name="store">Where entries go, such as <c>Dataflow.Sqlite.SessionStore</c>.</param>
    /// <param name="channel">The channel recorded with each entry.</param>
    /// <param name="mode">The mode recorded with each entry.</param>
    public StoreEventSink(IEntryStore store, string channel = "graph", string mode = "GRAPH")
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(channel);
        ArgumentException.ThrowIfNullOrWhiteSpace(mode);
        _store = store;
        _channel = channel;
        _mode = mode;
    }

    /// <summary>Queues the event in the store; waits while the store's queue is full.</summary>
    /// <param name="graphEvent">The event.</param>
    /// <param name="cancellationToken">Stops waiting for room.</param>
    /// <returns>A task that completes when the entry is queued.</returns>
    public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(graphEvent);
        var entry = new StoreRecord(graphEvent.Timestamp, _mode, _channel, "output", graphEvent.Content, graphEvent.Metadata)
        {
            RunId = graphEvent.RunId,
            Event = GraphEvent.KindName(graphEvent.Kind),
        };
        return _store.RecordAsync(entry, cancellationToken);
    }
}

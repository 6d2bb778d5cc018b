using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Sqlite;

/// <summary>
/// An <see cref="IEventSink"/> that records each lifecycle event as one store entry: direction <c>output</c>, the
/// event's <see cref="GraphEvent.Content"/> as content, its <see cref="GraphEvent.Metadata"/> as JSON metadata.
/// Attach it with <see cref="EventHub.AddSink"/>; the hub's sink policy decides which events reach it.
/// </summary>
public sealed class StoreEventSink : IEventSink
{
    private readonly IEntryStore _store;
    private readonly string _channel;
    private readonly string _mode;

    /// <summary>Creates the sink.</summary>
    /// <param name="store">Where entries go, usually a <see cref="SessionStore"/>.</param>
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

        // A SessionStore keeps the event's own time; any other store stamps the entry itself.
        return _store is SessionStore sessionStore
            ? sessionStore.RecordAsync(_mode, _channel, "output", graphEvent.Content, graphEvent.Metadata, graphEvent.Timestamp, cancellationToken)
            : _store.RecordAsync(_mode, _channel, "output", graphEvent.Content, graphEvent.Metadata, cancellationToken);
    }
}

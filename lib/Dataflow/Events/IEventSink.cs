namespace Dataflow.Events;

/// <summary>
/// A consumer of lifecycle events. The hub calls <see cref="WriteAsync"/> for one event at a time,
/// in order, from one task per sink; an implementation needs no locking of its own.
/// </summary>
public interface IEventSink
{
    /// <summary>Consumes one event. An exception is caught, counted and reported; the sink keeps receiving events.</summary>
    /// <param name="graphEvent">The event.</param>
    /// <param name="cancellationToken">Cancelled when the hub gives up waiting for the sink: after <see cref="SinkOptions.WriteTimeout"/>, when one is set.</param>
    /// <returns>A task that completes when the sink is done with the event; the next one waits for it.</returns>
    ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken);
}

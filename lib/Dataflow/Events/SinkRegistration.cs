using System.Threading.Tasks.Dataflow;
using Dataflow.Diagnostics;

namespace Dataflow.Events;

/// <summary>
/// A sink attached to an <see cref="EventHub"/>, with its counters. Disposing it removes the sink:
/// it first receives every event published before removal began, then is detached.
/// </summary>
/// <remarks>
/// How events reach the sink depends on its mode: a <see cref="LosslessIntake"/> or a <see cref="LossyIntake"/>.
/// The registration counts, for either, the events accepted for the sink and not yet settled (<see cref="QueueDepth"/>).
/// A flush is a marker that follows the events through the broadcast: a sink signals it once it has taken everything
/// before it, so events themselves pay nothing for flushing.
/// </remarks>
public sealed class SinkRegistration : IAsyncDisposable
{
    private readonly EventHub _hub;
    private readonly IEventSink _sink;
    private readonly SinkIntake _intake;
    private readonly CountdownSignal _pending = new();
    private readonly TimeSpan? _writeTimeout;
    private readonly KeyValuePair<string, object?> _tag;
    private CancellationTokenSource? _timeout;
    private IDisposable? _link;
    private SinkRegistration[]? _snapshot;
    private int _snapshotIndex;
    private long _delivered;
    private long _dropped;
    private long _failures;
    private int _removed;
    private volatile bool _closed;

    internal SinkRegistration(EventHub hub, IEventSink sink, SinkOptions options)
    {
        _hub = hub;
        _sink = sink;
        Name = options.Name!;
        Policy = options.Policy;
        Capacity = options.Capacity;
        Lossy = options.Lossy;
        _writeTimeout = options.WriteTimeout;
        _tag = new("dataflow.sink", Name);
        _intake = Lossy ? new LossyIntake(this, Capacity) : new LosslessIntake(this, Capacity);
    }

    /// <summary>The sink's name.</summary>
    public string Name { get; }

    /// <summary>The sink's own filter.</summary>
    public OutputPolicy Policy { get; }

    /// <summary>How many events may wait for the sink.</summary>
    public int Capacity { get; }

    /// <summary>Whether the sink drops its oldest waiting events rather than slowing the producers.</summary>
    public bool Lossy { get; }

    /// <summary>Events the sink consumed without throwing.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Events a lossy sink dropped because it was behind; always 0 for a lossless sink.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Events on which the sink threw, or did not finish within <see cref="SinkOptions.WriteTimeout"/>.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Events published for the sink and not yet consumed; for a lossy sink, not yet in its drop-oldest buffer.</summary>
    public int QueueDepth => _pending.Count;

    /// <summary>Completes when the sink has consumed its last event and is detached.</summary>
    public Task Completion => _intake.Completion;

    internal bool IsClosed => _closed;

    /// <summary>Removes the sink from its hub once it has consumed every event published before this call.</summary>
    /// <returns>A task that completes when the sink is drained and detached.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _removed, 1) == 0)
        {
            _hub.Detach(this);
            await WhenIdleAsync().ConfigureAwait(false);
            _link?.Dispose();
            _intake.Target.Complete();
            Close();
        }

        await Completion.ConfigureAwait(false);
    }

    /// <summary>Completes once nothing published for the sink is left unconsumed; from then on it stays signalled.</summary>
    internal Task WhenIdleAsync() => _pending.Close();

    internal bool Accepts(EventKind kind) => Policy.Admits(kind);

    internal void Link(ISourceBlock<Delivery> source)
        => _link = source.LinkTo(_intake.Target, new DataflowLinkOptions { PropagateCompletion = true });

    /// <summary>Reserves room for one event without waiting. False when a lossless sink is full.</summary>
    internal bool TryReserve()
    {
        if (!_intake.TryReserve())
        {
            return false;
        }

        Accepted();
        return true;
    }

    /// <summary>Waits for room for one event. False when the sink closed meanwhile.</summary>
    internal async ValueTask<bool> ReserveAsync(CancellationToken cancellationToken)
    {
        await _intake.ReserveAsync(cancellationToken).ConfigureAwait(false);
        if (_closed)
        {
            _intake.Release();
            return false;
        }

        Accepted();
        return true;
    }

    internal void CancelReservation()
    {
        _intake.Release();
        Settled();
    }

    internal void Close()
    {
        _closed = true;

        // Wake publishers that still wait on this sink from an older snapshot; they will see it closed.
        _intake.Close();
    }

    /// <summary>Signals a flush marker addressed to this sink: everything before it has been taken.</summary>
    internal void Reached(TaskCompletionSource[] flush) => flush[_snapshotIndex].TrySetResult();

    internal bool IsAddressedTo(Delivery delivery)
    {
        // Consecutive deliveries share one snapshot of the hub's sinks: find this sink's place once per snapshot.
        // Only the sink's own task calls this, so the cache needs no lock.
        if (!ReferenceEquals(delivery.Sinks, _snapshot))
        {
            _snapshot = delivery.Sinks;
            _snapshotIndex = Array.IndexOf(delivery.Sinks, this);
        }

        return _snapshotIndex >= 0 && (delivery.Mask & (1UL << _snapshotIndex)) != 0;
    }

    /// <summary>
    /// Hands one event to the sink, with a token the hub cancels when it gives up waiting
    /// (<see cref="SinkOptions.WriteTimeout"/>). A sink is a boundary: its failure is counted and reported, and
    /// never reaches the runs.
    /// </summary>
    internal async ValueTask DeliverAsync(GraphEvent graphEvent)
    {
        var token = CancellationToken.None;
        if (_writeTimeout is { } limit)
        {
            if (_timeout is null || !_timeout.TryReset())
            {
                _timeout?.Dispose();
                _timeout = new CancellationTokenSource();
            }

            _timeout.CancelAfter(limit);
            token = _timeout.Token;
        }

        try
        {
            await _sink.WriteAsync(graphEvent, token).ConfigureAwait(false);
            Interlocked.Increment(ref _delivered);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failures);
            var reported = token.IsCancellationRequested && e is OperationCanceledException
                ? new TimeoutException($"Sink '{Name}' did not take the event within {_writeTimeout!.Value.TotalMilliseconds:0.###} ms (SinkOptions.WriteTimeout); the hub gave up on it.", e)
                : e;
            _hub.ReportSinkFailure(this, graphEvent, reported);
        }
    }

    /// <summary>An event for the sink was accepted by the hub.</summary>
    internal void Accepted()
    {
        _pending.Add();
        if (DataflowTelemetry.SinkQueueDepth.Enabled)
        {
            DataflowTelemetry.SinkQueueDepth.Add(1, _tag);
        }
    }

    /// <summary>An accepted event was consumed, dropped or withdrawn.</summary>
    internal void Settled()
    {
        if (DataflowTelemetry.SinkQueueDepth.Enabled)
        {
            DataflowTelemetry.SinkQueueDepth.Add(-1, _tag);
        }

        _pending.Signal();
    }

    /// <summary>A lossy sink's queue dropped its oldest event.</summary>
    internal void OnDropped()
    {
        Interlocked.Increment(ref _dropped);
        if (DataflowTelemetry.EventsDropped.Enabled)
        {
            DataflowTelemetry.EventsDropped.Add(1, _tag);
        }
    }
}

/// <summary>
/// One event on its way through the broadcast, addressed to some of the sinks of one snapshot; or a flush marker
/// (<see cref="Flush"/> set, no event), which each addressed sink signals once it has taken everything before it.
/// </summary>
internal sealed class Delivery(GraphEvent? graphEvent, SinkRegistration[] sinks, ulong mask, TaskCompletionSource[]? flush = null)
{
    public GraphEvent Event { get; } = graphEvent!;

    public SinkRegistration[] Sinks { get; } = sinks;

    public ulong Mask { get; } = mask;

    /// <summary>For a flush marker: one signal per sink of the snapshot, set by that sink when it reaches the marker.</summary>
    public TaskCompletionSource[]? Flush { get; } = flush;
}

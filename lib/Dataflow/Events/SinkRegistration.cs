using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using Dataflow.Diagnostics;

namespace Dataflow.Events;

/// <summary>
/// A sink attached to an <see cref="EventHub"/>, with its counters. Disposing it removes the sink:
/// it first receives every event published before removal began, then is detached.
/// </summary>
public sealed class SinkRegistration : IAsyncDisposable
{
    private readonly EventHub _hub;
    private readonly IEventSink _sink;
    private readonly SemaphoreSlim? _credits;
    private readonly Channel<GraphEvent>? _lossyQueue;
    private readonly Task? _lossyLoop;
    private readonly ActionBlock<Delivery> _intake;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly KeyValuePair<string, object?> _tag;
    private IDisposable? _link;
    private SinkRegistration[]? _snapshot;
    private int _snapshotIndex;
    private long _delivered;
    private long _dropped;
    private long _failures;
    private int _pending;
    private int _removed;
    private int _draining;
    private volatile bool _closed;

    internal SinkRegistration(EventHub hub, IEventSink sink, SinkOptions options)
    {
        _hub = hub;
        _sink = sink;
        Name = options.Name!;
        Policy = options.Policy;
        Capacity = options.Capacity;
        Lossy = options.Lossy;
        _tag = new("dataflow.sink", Name);
        var blockOptions = new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = 1, EnsureOrdered = true };
        if (Lossy)
        {
            _lossyQueue = Channel.CreateBounded<GraphEvent>(
                new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
                _ => OnDropped());
            _intake = new ActionBlock<Delivery>(Enqueue, blockOptions);
            using (ExecutionContext.SuppressFlow())
            {
                _lossyLoop = Task.Run(DrainLossyAsync);
            }
        }
        else
        {
            _credits = new SemaphoreSlim(Capacity);
            _intake = new ActionBlock<Delivery>(ProcessAsync, blockOptions);
        }
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

    /// <summary>Events on which the sink threw.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Events published for the sink and not yet consumed.</summary>
    public int QueueDepth => Volatile.Read(ref _pending);

    /// <summary>Completes when the sink has consumed its last event and is detached.</summary>
    public Task Completion => _lossyLoop is null ? _intake.Completion : Task.WhenAll(_intake.Completion, _lossyLoop);

    /// <summary>Removes the sink from its hub once it has consumed every event published before this call.</summary>
    /// <returns>A task that completes when the sink is drained and detached.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _removed, 1) == 0)
        {
            _hub.Detach(this);
            await WhenIdleAsync().ConfigureAwait(false);
            _link?.Dispose();
            _intake.Complete();
            Close();
        }

        await Completion.ConfigureAwait(false);
    }

    /// <summary>Completes once nothing published for the sink is left unconsumed; from then on it stays signalled.</summary>
    internal Task WhenIdleAsync()
    {
        Interlocked.Exchange(ref _draining, 1);
        if (Volatile.Read(ref _pending) == 0)
        {
            _drained.TrySetResult();
        }

        return _drained.Task;
    }

    internal bool Accepts(EventKind kind) => Policy.Admits(kind);

    internal void Link(ISourceBlock<Delivery> source)
        => _link = source.LinkTo(_intake, new DataflowLinkOptions { PropagateCompletion = true });

    /// <summary>Reserves room for one event without waiting. False when a lossless sink is full.</summary>
    internal bool TryReserve()
    {
        if (_credits is not null && !_credits.Wait(0))
        {
            return false;
        }

        AddPending();
        return true;
    }

    /// <summary>Waits for room for one event. False when the sink closed meanwhile.</summary>
    internal async ValueTask<bool> ReserveAsync(CancellationToken cancellationToken)
    {
        await _credits!.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_closed)
        {
            _credits.Release();
            return false;
        }

        AddPending();
        return true;
    }

    internal void CancelReservation()
    {
        _credits?.Release();
        RemovePending();
    }

    internal bool IsClosed => _closed;

    internal void Close()
    {
        _closed = true;

        // Wake publishers that still wait on this sink from an older snapshot; they will see it closed.
        _credits?.Release(Capacity);
    }

    private void AddPending()
    {
        Interlocked.Increment(ref _pending);
        if (DataflowTelemetry.SinkQueueDepth.Enabled)
        {
            DataflowTelemetry.SinkQueueDepth.Add(1, _tag);
        }
    }

    private void RemovePending()
    {
        if (DataflowTelemetry.SinkQueueDepth.Enabled)
        {
            DataflowTelemetry.SinkQueueDepth.Add(-1, _tag);
        }

        if (Interlocked.Decrement(ref _pending) == 0 && Volatile.Read(ref _draining) == 1)
        {
            _drained.TrySetResult();
        }
    }

    private bool IsAddressedTo(Delivery delivery)
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

    private async Task ProcessAsync(Delivery delivery)
    {
        if (!IsAddressedTo(delivery))
        {
            return;
        }

        try
        {
            await _sink.WriteAsync(delivery.Event, CancellationToken.None).ConfigureAwait(false);
            Interlocked.Increment(ref _delivered);
        }
        catch (Exception e)
        {
            // A sink is a boundary: its failure is counted and reported, and never reaches the runs.
            Interlocked.Increment(ref _failures);
            _hub.ReportSinkFailure(this, delivery.Event, e);
        }
        finally
        {
            _credits!.Release();
            RemovePending();
        }
    }

    private void Enqueue(Delivery delivery)
    {
        if (IsAddressedTo(delivery))
        {
            _lossyQueue!.Writer.TryWrite(delivery.Event);
            RemovePending();
        }
    }

    private void OnDropped()
    {
        Interlocked.Increment(ref _dropped);
        if (DataflowTelemetry.EventsDropped.Enabled)
        {
            DataflowTelemetry.EventsDropped.Add(1, _tag);
        }
    }

    private async Task DrainLossyAsync()
    {
        var reader = _lossyQueue!.Reader;
        _ = _intake.Completion.ContinueWith(
            static (_, state) => ((Channel<GraphEvent>)state!).Writer.TryComplete(),
            _lossyQueue,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var graphEvent))
            {
                try
                {
                    await _sink.WriteAsync(graphEvent, CancellationToken.None).ConfigureAwait(false);
                    Interlocked.Increment(ref _delivered);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref _failures);
                    _hub.ReportSinkFailure(this, graphEvent, e);
                }
            }
        }
    }
}

/// <summary>One event on its way through the broadcast, addressed to some of the sinks of one snapshot.</summary>
internal sealed class Delivery(GraphEvent graphEvent, SinkRegistration[] sinks, ulong mask)
{
    public GraphEvent Event { get; } = graphEvent;

    public SinkRegistration[] Sinks { get; } = sinks;

    public ulong Mask { get; } = mask;
}

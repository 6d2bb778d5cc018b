using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;

namespace Dataflow.Events;

/// <summary>
/// How one sink takes events from the broadcast: one type per mode. Neither ever postpones a message, since a
/// <see cref="BroadcastBlock{T}"/> would overwrite it (see <see cref="EventHub"/>).
/// </summary>
internal abstract class SinkIntake
{
    protected SinkIntake(SinkRegistration owner) => Owner = owner;

    public abstract ITargetBlock<Delivery> Target { get; }

    /// <summary>Completes when the intake has passed on its last event and the sink has consumed it.</summary>
    public abstract Task Completion { get; }

    protected SinkRegistration Owner { get; }

    protected static ExecutionDataflowBlockOptions OneAtATime => new() { MaxDegreeOfParallelism = 1, EnsureOrdered = true };

    /// <summary>Takes room for one event without waiting. False when a lossless sink is full.</summary>
    public abstract bool TryReserve();

    /// <summary>Waits for room for one event.</summary>
    public abstract ValueTask ReserveAsync(CancellationToken cancellationToken);

    /// <summary>Gives back room taken for an event that was not published.</summary>
    public abstract void Release();

    /// <summary>Wakes every publisher waiting for room, for good: the sink is closed.</summary>
    public abstract void Close();
}

/// <summary>
/// A lossless sink: <see cref="SinkOptions.Capacity"/> credits, taken by publishers before they publish (waiting while
/// none is left: backpressure) and given back as the sink consumes each event.
/// </summary>
internal sealed class LosslessIntake : SinkIntake
{
    private readonly SemaphoreSlim _credits;
    private readonly ActionBlock<Delivery> _block;

    public LosslessIntake(SinkRegistration owner, int capacity)
        : base(owner)
    {
        _credits = new SemaphoreSlim(capacity);
        _block = new ActionBlock<Delivery>(ProcessAsync, OneAtATime);
    }

    public override ITargetBlock<Delivery> Target => _block;

    public override Task Completion => _block.Completion;

    public override bool TryReserve() => _credits.Wait(0);

    public override async ValueTask ReserveAsync(CancellationToken cancellationToken)
        => await _credits.WaitAsync(cancellationToken).ConfigureAwait(false);

    public override void Release() => _credits.Release();

    public override void Close() => _credits.Release(Owner.Capacity);

    private async Task ProcessAsync(Delivery delivery)
    {
        if (!Owner.IsAddressedTo(delivery))
        {
            return;
        }

        if (delivery.Flush is { } flush)
        {
            // Every event before the marker has been consumed: this block runs one delivery at a time, in order.
            Owner.Reached(flush);
            return;
        }

        try
        {
            await Owner.DeliverAsync(delivery.Event).ConfigureAwait(false);
        }
        finally
        {
            _credits.Release();
            Owner.Settled();
        }
    }
}

/// <summary>
/// A lossy sink: it never slows a publisher. Its events wait in a queue of <see cref="SinkOptions.Capacity"/> that
/// drops the oldest when full, counted in <see cref="SinkRegistration.Dropped"/>; one owned loop feeds the sink.
/// An event counts as settled once it is in that queue (where it may still be dropped).
/// </summary>
internal sealed class LossyIntake : SinkIntake
{
    private readonly Channel<GraphEvent> _queue;
    private readonly ActionBlock<Delivery> _block;
    private readonly Task _loop;

    public LossyIntake(SinkRegistration owner, int capacity)
        : base(owner)
    {
        _queue = Channel.CreateBounded<GraphEvent>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            _ => Owner.OnDropped());
        _block = new ActionBlock<Delivery>(Enqueue, OneAtATime);

        // Once the intake has taken its last delivery, the queue ends, and the loop with it once it is empty.
        _ = _block.Completion.ContinueWith(
            static (_, queue) => ((Channel<GraphEvent>)queue!).Writer.TryComplete(),
            _queue,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(DrainAsync);
        }
    }

    public override ITargetBlock<Delivery> Target => _block;

    public override Task Completion => Task.WhenAll(_block.Completion, _loop);

    public override bool TryReserve() => true;

    public override ValueTask ReserveAsync(CancellationToken cancellationToken) => default;

    public override void Release()
    {
    }

    public override void Close()
    {
    }

    private void Enqueue(Delivery delivery)
    {
        if (Owner.IsAddressedTo(delivery) && delivery.Flush is { } flush)
        {
            // Everything before the marker is in the buffer (where it may still be dropped): that is a lossy flush.
            Owner.Reached(flush);
        }
        else if (Owner.IsAddressedTo(delivery))
        {
            // Settled once in the buffer: from here on the event is the buffer's to keep or drop, never a producer's.
            _queue.Writer.TryWrite(delivery.Event);
            Owner.Settled();
        }
    }

    private async Task DrainAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var graphEvent))
            {
                await Owner.DeliverAsync(graphEvent).ConfigureAwait(false);
            }
        }
    }
}

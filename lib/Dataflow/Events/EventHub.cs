using System.Runtime.CompilerServices;
using System.Threading.Channels;
using System.Threading.Tasks.Dataflow;
using Dataflow.Diagnostics;

namespace Dataflow.Events;

/// <summary>
/// Fans lifecycle events out to sinks through a <see cref="BroadcastBlock{T}"/>, each sink filtered by its
/// own <see cref="OutputPolicy"/>. Lossless by default: every published event reaches every sink whose
/// policy admits it, exactly once and in publish order.
/// </summary>
/// <remarks>
/// A BroadcastBlock overwrites a message that a postponing target has not taken yet, so no sink ever
/// postpones: each sink's intake behind the broadcast accepts everything, and the bound lives before the
/// broadcast instead. <see cref="PublishAsync"/> reserves room in every lossless recipient first and waits
/// while one is full, which slows the producers (backpressure) and keeps memory bounded by the sinks'
/// capacities. A lossy sink never slows anyone: it keeps its newest events and counts what it drops.
/// </remarks>
public sealed class EventHub : IAsyncDisposable
{
    /// <summary>The most sinks one hub can serve at once.</summary>
    public const int MaxSinks = 64;

    private readonly BroadcastBlock<Delivery> _broadcast = new(cloningFunction: null);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private SinkRegistration[] _sinks = [];
    private long _published;
    private long _sinkFailures;
    private long _unreportedFailures;
    private int _disposed;

    /// <summary>Creates a hub with no sinks.</summary>
    /// <param name="timeProvider">The clock for the hub's own error events; the system clock when null.</param>
    public EventHub(TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The sinks attached now.</summary>
    public IReadOnlyList<SinkRegistration> Sinks => Volatile.Read(ref _sinks);

    /// <summary>Events published that at least one sink accepted.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Events on which some sink threw, over all sinks.</summary>
    public long SinkFailures => Interlocked.Read(ref _sinkFailures);

    /// <summary>Sink failures whose error event could not be delivered without waiting (the failure is still counted).</summary>
    public long UnreportedSinkFailures => Interlocked.Read(ref _unreportedFailures);

    /// <summary>Attaches a sink; it receives events published from now on. Safe while events flow.</summary>
    /// <param name="sink">The sink.</param>
    /// <param name="options">Its filter, capacity and loss mode; copied.</param>
    /// <returns>The registration: counters, and <see cref="SinkRegistration.DisposeAsync"/> to remove the sink.</returns>
    /// <exception cref="InvalidOperationException">The hub already has <see cref="MaxSinks"/> sinks.</exception>
    /// <exception cref="ObjectDisposedException">The hub is disposed.</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message lists every problem.</exception>
    public SinkRegistration AddSink(IEventSink sink, SinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return AddSink(sink, options, sink.GetType().Name);
    }

    /// <summary>
    /// Waits until every sink attached now has consumed every event published before this call, without stopping the
    /// hub; a lossy sink, until each is in its buffer (where it may still be dropped). Events published meanwhile are
    /// not waited for.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; nothing is lost by it.</param>
    /// <returns>A task that completes when the sinks have caught up.</returns>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var sinks = Volatile.Read(ref _sinks);
        if (sinks.All(s => s.QueueDepth == 0))
        {
            // Nothing published is waiting for any sink: there is nothing to flush.
            return Task.CompletedTask;
        }

        ulong mask = 0;
        var flush = new TaskCompletionSource[sinks.Length];
        var waits = new List<Task>(sinks.Length);
        for (var i = 0; i < sinks.Length; i++)
        {
            flush[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!sinks[i].IsClosed)
            {
                mask |= 1UL << i;

                // A sink removed before it reaches the marker has consumed all it ever will.
                waits.Add(Task.WhenAny(flush[i].Task, sinks[i].Completion));
            }
        }

        // The marker follows every event posted before it through the broadcast; a disposed hub has nothing to wait for.
        if (mask == 0 || Volatile.Read(ref _disposed) != 0 || !_broadcast.Post(new Delivery(null, sinks, mask, flush)))
        {
            return Task.CompletedTask;
        }

        return Task.WhenAll(waits).WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Whether an event of <paramref name="kind"/> published now would reach a sink, or throw because the hub is disposed:
    /// when false, a publisher need not build the event at all (it would reach nobody).
    /// </summary>
    internal bool Wants(EventKind kind)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return true;
        }

        foreach (var sink in Volatile.Read(ref _sinks))
        {
            if (sink.Accepts(kind) && !sink.IsClosed)
            {
                return true;
            }
        }

        return false;
    }

    internal SinkRegistration AddSink(IEventSink sink, SinkOptions? options, string defaultName)
    {
        var validated = (options ?? new SinkOptions()).Validated(defaultName);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_sinks.Length >= MaxSinks)
            {
                throw new InvalidOperationException($"The hub already has {MaxSinks} sinks; remove one before adding '{validated.Name}'.");
            }

            var registration = new SinkRegistration(this, sink, validated);
            registration.Link(_broadcast);
            Volatile.Write(ref _sinks, [.. _sinks, registration]);
            return registration;
        }
    }

    /// <summary>
    /// Publishes an event to every sink whose policy admits it. Completes at once while every lossless
    /// recipient has room; otherwise waits for room (backpressure).
    /// </summary>
    /// <param name="graphEvent">The event.</param>
    /// <param name="cancellationToken">Stops waiting for room; the event is then not published to any sink.</param>
    /// <returns>A task that completes when the event is queued for every recipient.</returns>
    /// <exception cref="ObjectDisposedException">The hub is disposed.</exception>
    public ValueTask PublishAsync(GraphEvent graphEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graphEvent);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var sinks = Volatile.Read(ref _sinks);
        ulong mask = 0;
        for (var i = 0; i < sinks.Length; i++)
        {
            if (sinks[i].Accepts(graphEvent.Kind) && !sinks[i].IsClosed)
            {
                if (!sinks[i].TryReserve())
                {
                    return PublishSlowAsync(graphEvent, sinks, mask, i, cancellationToken);
                }

                mask |= 1UL << i;
            }
        }

        PostOrThrow(graphEvent, sinks, mask);
        return default;
    }

    /// <summary>
    /// Reads the events that <paramref name="policy"/> admits, from now until the hub is disposed or
    /// <paramref name="cancellationToken"/> is cancelled. A reader that falls <paramref name="capacity"/> events
    /// behind slows the producers, as any lossless sink does.
    /// </summary>
    /// <param name="policy">The reader's filter.</param>
    /// <param name="capacity">How many events may wait for the reader.</param>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The events, in publish order.</returns>
    public async IAsyncEnumerable<GraphEvent> ReadAllAsync(
        OutputPolicy policy = OutputPolicy.Verbose,
        int capacity = 1024,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var channel = Channel.CreateBounded<GraphEvent>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        var registration = AddSink(new ChannelWriterSink(channel.Writer), new SinkOptions { Name = "reader", Policy = policy, Capacity = capacity });
        _ = registration.Completion.ContinueWith(
            static (_, state) => ((ChannelWriter<GraphEvent>)state!).TryComplete(),
            channel.Writer,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var graphEvent))
                {
                    yield return graphEvent;
                }
            }
        }
        finally
        {
            // Detach without waiting for the reader to consume what is left: nobody reads it any more.
            channel.Writer.TryComplete();
            while (channel.Reader.TryRead(out _))
            {
            }

            await registration.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops accepting events and waits until every sink has consumed everything published before.</summary>
    /// <returns>A task that completes when every sink is drained.</returns>
    public async ValueTask DisposeAsync()
    {
        SinkRegistration[] sinks;
        lock (_gate)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                sinks = [];
            }
            else
            {
                sinks = _sinks;
            }
        }

        // Drain before completing the broadcast, so that a sink that fails while draining can still report it.
        await Task.WhenAll(sinks.Select(s => s.WhenIdleAsync())).ConfigureAwait(false);
        _broadcast.Complete();
        await _broadcast.Completion.ConfigureAwait(false);
        foreach (var sink in sinks)
        {
            await sink.Completion.ConfigureAwait(false);
            sink.Close();
        }
    }

    internal void Detach(SinkRegistration registration)
    {
        lock (_gate)
        {
            Volatile.Write(ref _sinks, [.. _sinks.Where(s => s != registration)]);
        }
    }

    internal void ReportSinkFailure(SinkRegistration failed, GraphEvent graphEvent, Exception exception)
    {
        Interlocked.Increment(ref _sinkFailures);
        if (DataflowTelemetry.SinkFailures.Enabled)
        {
            DataflowTelemetry.SinkFailures.Add(1, new KeyValuePair<string, object?>("dataflow.sink", failed.Name));
        }

        var error = $"{exception.GetType().Name}: {exception.Message}";
        var report = new GraphEvent(
            graphEvent.RunId,
            EventKind.Error,
            $"sink '{failed.Name}' failed on {graphEvent.RunId} #{graphEvent.Sequence}: {error}",
            _time.GetUtcNow(),
            sequence: 0)
        {
            Error = error,
            Extra = new Dictionary<string, object?> { ["sink"] = failed.Name, ["failed_event"] = GraphEvent.KindName(graphEvent.Kind) },
        };

        // Reported without waiting: a sink's own task must never block on other sinks.
        var sinks = Volatile.Read(ref _sinks);
        ulong mask = 0;
        var complete = true;
        for (var i = 0; i < sinks.Length && complete; i++)
        {
            if (sinks[i] != failed && sinks[i].Accepts(EventKind.Error) && !sinks[i].IsClosed)
            {
                if (sinks[i].TryReserve())
                {
                    mask |= 1UL << i;
                }
                else
                {
                    complete = false;
                }
            }
        }

        if (!complete || !Post(report, sinks, mask))
        {
            Release(sinks, mask);
            Interlocked.Increment(ref _unreportedFailures);
        }
    }

    private async ValueTask PublishSlowAsync(GraphEvent graphEvent, SinkRegistration[] sinks, ulong mask, int waitingAt, CancellationToken cancellationToken)
    {
        try
        {
            for (var i = waitingAt; i < sinks.Length; i++)
            {
                if (!sinks[i].Accepts(graphEvent.Kind) || sinks[i].IsClosed)
                {
                    continue;
                }

                if (i == waitingAt || !sinks[i].TryReserve())
                {
                    if (!await sinks[i].ReserveAsync(cancellationToken).ConfigureAwait(false))
                    {
                        continue;
                    }
                }

                mask |= 1UL << i;
            }
        }
        catch
        {
            Release(sinks, mask);
            throw;
        }

        PostOrThrow(graphEvent, sinks, mask);
    }

    private void PostOrThrow(GraphEvent graphEvent, SinkRegistration[] sinks, ulong mask)
    {
        if (!Post(graphEvent, sinks, mask))
        {
            Release(sinks, mask);
            throw new ObjectDisposedException(nameof(EventHub), "The event hub was disposed while the event was being published.");
        }
    }

    private bool Post(GraphEvent graphEvent, SinkRegistration[] sinks, ulong mask)
    {
        if (mask == 0)
        {
            return true;
        }

        if (!_broadcast.Post(new Delivery(graphEvent, sinks, mask)))
        {
            return false;
        }

        Interlocked.Increment(ref _published);
        if (DataflowTelemetry.EventsEmitted.Enabled)
        {
            DataflowTelemetry.EventsEmitted.Add(1, new KeyValuePair<string, object?>("dataflow.event", GraphEvent.KindName(graphEvent.Kind)));
        }

        return true;
    }

    private static void Release(SinkRegistration[] sinks, ulong mask)
    {
        for (var i = 0; i < sinks.Length; i++)
        {
            if ((mask & (1UL << i)) != 0)
            {
                sinks[i].CancelReservation();
            }
        }
    }

    private sealed class ChannelWriterSink(ChannelWriter<GraphEvent> writer) : IEventSink
    {
        public async ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
        {
            // Waiting here holds the sink's room, which slows the producers; a closed reader takes nothing more.
            while (!writer.TryWrite(graphEvent))
            {
                if (!await writer.WaitToWriteAsync(cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
    }
}

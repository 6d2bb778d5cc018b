using System.Collections.Concurrent;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Tests.Events;

/// <summary>Keeps every event it receives.</summary>
public sealed class CollectingSink : IEventSink
{
    private readonly ConcurrentQueue<GraphEvent> _events = new();

    public IReadOnlyList<GraphEvent> Events => [.. _events];

    public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        _events.Enqueue(graphEvent);
        return default;
    }
}

/// <summary>Slow on purpose: yields to the scheduler every event and sleeps asynchronously every Nth.</summary>
public sealed class SlowSink(int pauseEvery) : IEventSink
{
    private readonly ConcurrentDictionary<string, long> _lastSequence = new();
    private long _count;
    private long _outOfOrder;

    public long Count => Interlocked.Read(ref _count);

    public long OutOfOrder => Interlocked.Read(ref _outOfOrder);

    public async ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        var previous = _lastSequence.GetValueOrDefault(graphEvent.RunId);
        if (graphEvent.Sequence != previous + 1)
        {
            Interlocked.Increment(ref _outOfOrder);
        }

        _lastSequence[graphEvent.RunId] = graphEvent.Sequence;
        if (Interlocked.Increment(ref _count) % pauseEvery == 0)
        {
            await Task.Delay(1, cancellationToken);
        }
        else
        {
            await Task.Yield();
        }
    }
}

/// <summary>Throws on every event whose kind matches.</summary>
public sealed class ThrowingSink(EventKind throwOn) : IEventSink
{
    public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
        => graphEvent.Kind == throwOn ? throw new IOException("disk full") : default;
}

/// <summary>Holds every event until released; counts what it received.</summary>
public sealed class GateSink : IEventSink
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public Task FirstReceived => _first.Task;

    public void Release() => _release.TrySetResult();

    public async ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        _first.TrySetResult();
        await _release.Task.WaitAsync(cancellationToken);
        Interlocked.Increment(ref _count);
    }
}

/// <summary>Completes once it has seen a number of events of one kind.</summary>
public sealed class KindCountdownSink(EventKind kind, int count) : IEventSink
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _seen;

    public Task Reached => _reached.Task;

    public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        if (graphEvent.Kind == kind && Interlocked.Increment(ref _seen) >= count)
        {
            _reached.TrySetResult();
        }

        return default;
    }
}

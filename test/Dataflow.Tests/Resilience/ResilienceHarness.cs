using System.Collections.Concurrent;
using Dataflow.Engine;
using Dataflow.Events;
using Microsoft.Extensions.Time.Testing;

namespace Dataflow.Tests.Resilience;

/// <summary>Keeps every event and lets a test wait for the n-th event of a kind.</summary>
public sealed class EventWaiter : IEventSink
{
    private readonly ConcurrentQueue<GraphEvent> _events = new();
    private readonly Lock _gate = new();
    private readonly List<(EventKind Kind, int Count, TaskCompletionSource Reached)> _waits = [];

    public IReadOnlyList<GraphEvent> Events => [.. _events];

    public IReadOnlyList<GraphEvent> OfKind(EventKind kind) => [.. _events.Where(e => e.Kind == kind)];

    /// <summary>Completes once <paramref name="count"/> events of <paramref name="kind"/> have arrived (counting those already in).</summary>
    public Task WaitForAsync(EventKind kind, int count = 1)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_events.Count(e => e.Kind == kind) >= count)
            {
                return Task.CompletedTask;
            }

            _waits.Add((kind, count, reached));
        }

        return reached.Task.WaitAsync(ResilienceHarness.Guard);
    }

    public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _events.Enqueue(graphEvent);
            var seen = _events.Count(e => e.Kind == graphEvent.Kind);
            foreach (var wait in _waits.Where(w => w.Kind == graphEvent.Kind && seen >= w.Count).ToArray())
            {
                wait.Reached.TrySetResult();
                _waits.Remove(wait);
            }
        }

        return default;
    }
}

/// <summary>An engine on a fake clock with every event kept: what each resilience test starts from.</summary>
public sealed class ResilienceHarness : IAsyncDisposable
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    public ResilienceHarness(bool cancelRunsOnDispose = true)
    {
        Engine = new GraphEngine(new GraphEngineOptions { TimeProvider = Clock, TrackMemory = false, CancelRunsOnDispose = cancelRunsOnDispose });
        Engine.Events.AddSink(Events);
    }

    public FakeTimeProvider Clock { get; } = new();

    public GraphEngine Engine { get; }

    public EventWaiter Events { get; } = new();

    public ValueTask DisposeAsync() => Engine.DisposeAsync();
}

using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Workloads;

/// <summary>
/// Counts every event and checks the stream: events come from <see cref="Producers"/> tagged producers, each
/// publishing whole runs with sequences 1..<see cref="EventsPerRun"/>, so every producer's sequence must cycle
/// without a gap, a duplicate or a reordering. Called by one task at a time, as a hub or an ActionBlock does.
/// </summary>
internal sealed class CheckingSink : IEventSink
{
    public const int EventsPerRun = 4;

    private readonly long[] _expected;
    private readonly long _spinTicks;
    private long _count;
    private long _outOfOrder;

    /// <param name="producers">How many producers publish.</param>
    /// <param name="spinTicks">Stopwatch ticks of busy work per event: a slow sink.</param>
    public CheckingSink(int producers, long spinTicks = 0)
    {
        _expected = new long[producers];
        Array.Fill(_expected, 1);
        _spinTicks = spinTicks;
    }

    public static IReadOnlyList<string> Producers { get; } = [.. Enumerable.Range(0, 64).Select(i => "p" + i)];

    public long Count => Interlocked.Read(ref _count);

    public long OutOfOrder => Interlocked.Read(ref _outOfOrder);

    public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        Consume(graphEvent);
        return default;
    }

    public void Consume(GraphEvent graphEvent)
    {
        if (_spinTicks > 0)
        {
            var until = System.Diagnostics.Stopwatch.GetTimestamp() + _spinTicks;
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(8);
            }
        }

        var producer = ProducerOf(graphEvent);
        if (producer < 0 || graphEvent.Sequence != _expected[producer])
        {
            Interlocked.Increment(ref _outOfOrder);
        }
        else
        {
            _expected[producer] = (_expected[producer] % EventsPerRun) + 1;
        }

        Interlocked.Increment(ref _count);
    }

    /// <summary>The events of <paramref name="runs"/> runs of producer <paramref name="producer"/>, built as the engine builds them.</summary>
    public static IEnumerable<GraphEvent> RunEvents(int producer, int runs)
    {
        var tag = Producers[producer];
        var now = DateTimeOffset.UtcNow;
        for (var r = 0; r < runs; r++)
        {
            var id = "g" + ((r * 64) + producer).ToString(System.Globalization.CultureInfo.InvariantCulture);
            yield return new GraphEvent(id, EventKind.Start, "started", now, 1) { Graph = tag, Node = "PingStart" };
            yield return new GraphEvent(id, EventKind.Transition, "PingStart -> PingMiddle", now, 2) { Graph = tag, Node = "PingStart", NextNode = "PingMiddle" };
            yield return new GraphEvent(id, EventKind.Transition, "PingMiddle -> PingEnd", now, 3) { Graph = tag, Node = "PingMiddle", NextNode = "PingEnd" };
            yield return new GraphEvent(id, EventKind.Complete, "done", now, 4) { Graph = tag, Node = "PingEnd", DurationMs = 0 };
        }
    }

    private static int ProducerOf(GraphEvent graphEvent)
    {
        for (var i = 0; i < Producers.Count; i++)
        {
            if (ReferenceEquals(Producers[i], graphEvent.Graph))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>Counts events, nothing else.</summary>
internal sealed class CountingSink : IEventSink
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _count);
        return default;
    }
}

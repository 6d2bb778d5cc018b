using System.Diagnostics;
using Dataflow.Bench.Measurement;
using Dataflow.Engine;
using Dataflow.Graphs;

namespace Dataflow.Bench.Workloads;

// One parent maps over items: each item is a child run of two trivial nodes; the join sums the results in item order.
public sealed record MapAll(int Items, int MaxInFlight) : INode<FanOut<MapItem, Mapped, MapSum>>
{
    public ValueTask<FanOut<MapItem, Mapped, MapSum>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new FanOut<MapItem, Mapped, MapSum>(
            Enumerable.Range(0, Items).Select(i => new MapItem(i)),
            results =>
            {
                long sum = 0;
                for (var i = 0; i < results.Count; i++)
                {
                    sum += results[i].Result!.Value;
                }

                return new MapSum(results.Count, sum);
            })
        {
            MaxInFlight = MaxInFlight,
        });
}

public sealed record MapItem(int Index) : INode<MapSquare>
{
    public ValueTask<MapSquare> RunAsync(NodeContext context) => ValueTask.FromResult(new MapSquare(Index));
}

public sealed record MapSquare(int Index) : INode<Mapped>
{
    public ValueTask<Mapped> RunAsync(NodeContext context) => ValueTask.FromResult(new Mapped(Index, (long)Index * Index));
}

public sealed record Mapped(int Index, long Value) : INode;

public sealed record MapSum(int Count, long Sum) : INode<MapDone>
{
    public ValueTask<MapDone> RunAsync(NodeContext context) => ValueTask.FromResult(new MapDone(Count, Sum));
}

public sealed record MapDone(int Count, long Sum) : INode;

/// <summary>
/// fanout.map's two sides on one engine each: one parent fanning out to every item, against every item submitted as a
/// run of its own (SubmitAsync under the same admission bound, results read in item order). Same graph options, same
/// bound on items in flight.
/// </summary>
internal static class FanOutMapWorkload
{
    public const int InFlight = 1024;

    private static GraphOptions Options => new() { MaxDegreeOfParallelism = Environment.ProcessorCount, MaxRunsInFlight = InFlight };

    /// <summary>One run of <see cref="MapAll"/> over <paramref name="items"/> items.</summary>
    public static async Task<MapFigures> RunFanOutAsync(int items, int maxInFlight = InFlight)
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false });
        var graph = Graph.Create<MapAll>(Options);
        using var memory = PeakMemory.Start();
        var started = Stopwatch.GetTimestamp();
        var run = await engine.SubmitAsync(graph, new MapAll(items, maxInFlight));
        await run.Completion;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var done = run.GetResult<MapDone>();
        Check(done.Count, done.Sum, items);
        return new MapFigures(items / seconds, memory.PeakMb - memory.StartMb);
    }

    /// <summary>The baseline: <paramref name="items"/> separate runs of the child graph, their results summed in item order.</summary>
    public static async Task<MapFigures> RunSeparateAsync(int items)
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false });
        var graph = Graph.Create<MapItem>(Options);
        using var memory = PeakMemory.Start();
        var started = Stopwatch.GetTimestamp();
        var runs = new GraphRun[items];
        for (var i = 0; i < items; i++)
        {
            runs[i] = await engine.SubmitAsync(graph, new MapItem(i));
        }

        long sum = 0;
        foreach (var run in runs)
        {
            await run.Completion;
            sum += run.GetResult<Mapped>().Value;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Check(items, sum, items);
        return new MapFigures(items / seconds, memory.PeakMb - memory.StartMb);
    }

    private static void Check(int count, long sum, int items)
    {
        var expected = Enumerable.Range(0, items).Sum(i => (long)i * i);
        if (count != items || sum != expected)
        {
            throw new InvalidOperationException($"fanout.map: {count} results summing to {sum}; expected {items} summing to {expected}.");
        }
    }
}

/// <summary>One side's items per second and the growth of its working set at its peak.</summary>
internal readonly record struct MapFigures(double ItemsPerSecond, double PeakGrowthMb);

using System.Diagnostics;
using Dataflow.Bench.Measurement;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Workloads;

/// <summary>What one starvation measurement saw: wall time, run latencies and the heartbeat's worst lag.</summary>
internal sealed record StarvationFigures(double WallMs, Latencies Latencies, double HeartbeatMaxLagMs, long PoolQueuePeak);

/// <summary>
/// Many concurrent StressStart -> StressMiddle -> StressEnd runs (async work in two nodes) through the engine, against
/// the same node code called as plain async methods under <see cref="Task.WhenAll(Task[])"/>. A heartbeat runs alongside both.
/// </summary>
internal static class StarvationWorkload
{
    public const int DelayMs = 10;

    public static async Task<StarvationFigures> RunEngineAsync(int runs)
    {
        var graph = Graph.Create<StressStart>(new GraphOptions { MaxDegreeOfParallelism = GraphOptions.Unbounded, MaxRunsInFlight = runs });
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false });
        var started = new GraphRun[runs];
        var options = new RunOptions { Policy = Dataflow.Events.OutputPolicy.Silent };
        await using var heartbeat = Heartbeat.Start();
        using var pool = PoolQueue.Start();
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < runs; i++)
        {
            started[i] = engine.Submit(graph, new StressStart(DelayMs), options);
        }

        await Task.WhenAll(started.Select(r => r.Completion));
        var wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var lag = await heartbeat.StopAsync();
        var failed = started.Count(r => r.State != RunState.Done);
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} of {runs} stress runs did not end Done; first: {started.First(r => r.State != RunState.Done).Error}");
        }

        return new StarvationFigures(wall, new Latencies(started.Select(r => (r.EndedAt!.Value - r.StartedAt).TotalMilliseconds)), lag, pool.Peak);
    }

    public static async Task<StarvationFigures> RunPlainAsync(int runs)
    {
        var context = BaselineContext.Create("plain", new StressStart(DelayMs));
        var tasks = new Task<double>[runs];
        await using var heartbeat = Heartbeat.Start();
        using var pool = PoolQueue.Start();
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < runs; i++)
        {
            tasks[i] = RunOneAsync(new StressStart(DelayMs), context);
        }

        var latencies = await Task.WhenAll(tasks);
        var wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var lag = await heartbeat.StopAsync();
        return new StarvationFigures(wall, new Latencies(latencies), lag, pool.Peak);
    }

    private static async Task<double> RunOneAsync(StressStart start, NodeContext context)
    {
        var t0 = Stopwatch.GetTimestamp();
        var middle = await start.RunAsync(context);
        _ = await middle.RunAsync(context);
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }
}

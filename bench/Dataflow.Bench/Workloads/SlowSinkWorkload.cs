using System.Diagnostics;
using Dataflow.Bench.Measurement;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Workloads;

/// <summary>What one slow-sink measurement saw.</summary>
internal sealed record SlowSinkFigures(double PeakMb, double GrowthMb, long Lost, double Seconds);

/// <summary>
/// Producers publish into one sink that is 10 times slower than they are: through a lossless <see cref="Dataflow.Events.EventHub"/>
/// sink (bounded, backpressure), against a BroadcastBlock linked to an unbounded ActionBlock (buffers everything).
/// </summary>
internal static class SlowSinkWorkload
{
    public const int Slowdown = 10;

    /// <summary>Busy work per event that makes a sink <see cref="Slowdown"/> times slower than the producers measured with a fast sink.</summary>
    public static async Task<long> CalibrateAsync()
    {
        var fast = await FanoutWorkload.RunHubAsync(100_000, 1);
        return (long)(Slowdown * Stopwatch.Frequency / fast.EventsPerSecond);
    }

    public static async Task<SlowSinkFigures> RunHubAsync(int events, long spinTicks)
    {
        using var memory = PeakMemory.Start();
        var figures = await FanoutWorkload.RunHubAsync(events, 1, spinTicks);
        return new SlowSinkFigures(memory.PeakMb, memory.PeakMb - memory.StartMb, figures.Lost, figures.Seconds);
    }

    public static async Task<SlowSinkFigures> RunBroadcastBlockAsync(int events, long spinTicks)
    {
        using var memory = PeakMemory.Start();
        var figures = await FanoutWorkload.RunBroadcastBlockAsync(events, 1, spinTicks);
        return new SlowSinkFigures(memory.PeakMb, memory.PeakMb - memory.StartMb, figures.Lost, figures.Seconds);
    }
}

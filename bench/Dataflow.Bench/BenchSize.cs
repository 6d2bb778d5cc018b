using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench;

/// <summary>How big each case is. <see cref="Smoke"/> proves the code runs; <see cref="Quick"/> and <see cref="Full"/> measure.</summary>
internal sealed record BenchSize(
    string Name,
    int Repetitions,
    int ThroughputRuns,
    int StarvationRuns,
    int BlockingAsyncRuns,
    int BlockingNodes,
    int BlockingMs,
    int BlockingRounds,
    int FanoutEvents,
    int SlowSinkEvents,
    int StoreWriteEntries,
    int StorePerCommitEntries,
    int StoreSearchEntries,
    int StoreSearchRepetitions,
    int ResilienceRuns,
    int FanOutItems,
    int ScaleoutRuns)
{
    /// <summary>How long the throughput and fan-out cases warm both sides up before measuring.</summary>
    public TimeSpan WarmUp => Repetitions > 1 ? TimeSpan.FromSeconds(1) : TimeSpan.Zero;

    public static readonly BenchSize Smoke = new("smoke", 1, 2_000, 500, 60, 8, 50, 1, 20_000, 20_000, 2_000, 200, 5_000, 10, 300, 5_000, 100);

    public static readonly BenchSize Quick = new("quick", 5, 50_000, 20_000, 1_000, 64, 200, 3, 400_000, 200_000, 100_000, 2_000, 100_000, 200, 10_000, 100_000, 3_000);

    public static readonly BenchSize Full = new("full", 7, 300_000, 100_000, 1_000, 64, 200, 3, 2_000_000, 1_000_000, 500_000, 5_000, 1_000_000, 500, 40_000, 100_000, 6_000);
}

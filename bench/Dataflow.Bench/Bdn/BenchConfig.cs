using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Bdn;

/// <summary>
/// BenchmarkDotNet's defaults with in-process jobs (so that <see cref="FigureColumn"/> can read the figures the
/// benchmarks record, and so that BenchmarkDotNet does not generate a project under our warnings-as-errors build),
/// plus the figure columns.
/// </summary>
internal static class BenchConfig
{
    public static IConfig Create()
        => ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithId("InProcess"))
            .AddColumn(
                new FigureColumn(Figures.HeartbeatLag, "Heartbeat max lag (ms)"),
                new FigureColumn(Figures.RunP50, "Run p50 (ms)"),
                new FigureColumn(Figures.RunP99, "Run p99 (ms)"),
                new FigureColumn(Figures.PeakMb, "Peak working set (MB)"),
                new FigureColumn(Figures.Lost, "Lost events"));
}

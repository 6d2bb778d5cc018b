using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>starvation.async: many concurrent async runs against plain async methods under Task.WhenAll, with a heartbeat alongside.</summary>
internal sealed class StarvationAsyncCase : IBenchCase
{
    private const string Baseline = "plain async + Task.WhenAll";

    public string Name => "starvation.async";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        // A warm-up of both until the JIT is quiet, so that compiling and timer setup are not measured (each side runs
        // once: a repetition that recompiled the engine's paths at tier 1 would measure the JIT).
        var warmUp = Math.Min(size.StarvationRuns, 10_000);
        await Repeat.WarmUpAsync(size.WarmUp, () => StarvationWorkload.RunEngineAsync(warmUp), () => StarvationWorkload.RunPlainAsync(warmUp));
        var ours = await StarvationWorkload.RunEngineAsync(size.StarvationRuns);
        var plain = await StarvationWorkload.RunPlainAsync(size.StarvationRuns);
        return
        [
            new ReportRow(Name, "wall_ms", ours.WallMs, "ms", Baseline, plain.WallMs, Target.RatioAtMost(2.0)),
            new ReportRow(Name, "run_p50_ms", ours.Latencies.P50, "ms", Baseline, plain.Latencies.P50),
            new ReportRow(Name, "run_p99_ms", ours.Latencies.P99, "ms", Baseline, plain.Latencies.P99),
            new ReportRow(Name, "run_max_ms", ours.Latencies.Max, "ms", Baseline, plain.Latencies.Max),
            new ReportRow(Name, "heartbeat_max_lag_ms", ours.HeartbeatMaxLagMs, "ms", Baseline, plain.HeartbeatMaxLagMs, Target.ValueAtMost(50, "ms")),
            new ReportRow(Name, "pool_queue_peak", ours.PoolQueuePeak, "items", Baseline, plain.PoolQueuePeak),
        ];
    }
}

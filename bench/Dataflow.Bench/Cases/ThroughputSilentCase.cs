using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>throughput.silent: runs per second of the trivial graph at Silent, against a TransformBlock chain.</summary>
internal sealed class ThroughputSilentCase : IBenchCase
{
    public string Name => "throughput.silent";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        await using var workload = new ThroughputWorkload(OutputPolicy.Silent, withSink: false);
        var warmup = Math.Min(size.ThroughputRuns, 20_000);
        await Repeat.WarmUpAsync(size.WarmUp, () => workload.RunEngineAsync(warmup), () => ThroughputWorkload.RunChainAsync(warmup));
        var (ours, baseline, ratio) = await Repeat.MedianAsync(
            size.Repetitions,
            () => workload.RunEngineAsync(size.ThroughputRuns),
            () => ThroughputWorkload.RunChainAsync(size.ThroughputRuns));
        return [new ReportRow(Name, "runs_per_s", ours, "runs/s", "TransformBlock chain", baseline, Target.RatioAtLeast(0.5), ratio)];
    }
}

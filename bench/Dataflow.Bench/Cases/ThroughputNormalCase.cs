using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>throughput.normal: the trivial graph at Normal with one lossless sink consuming every event, against the same chain.</summary>
internal sealed class ThroughputNormalCase : IBenchCase
{
    public string Name => "throughput.normal";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        var workload = new ThroughputWorkload(OutputPolicy.Normal, withSink: true);
        double ours;
        double baseline;
        double ratio;
        try
        {
            var warmup = Math.Min(size.ThroughputRuns, 20_000);
            await Repeat.WarmUpAsync(size.WarmUp, () => workload.RunEngineAsync(warmup), () => ThroughputWorkload.RunChainAsync(warmup));
            (ours, baseline, ratio) = await Repeat.MedianAsync(
                size.Repetitions,
                () => workload.RunEngineAsync(size.ThroughputRuns),
                () => ThroughputWorkload.RunChainAsync(size.ThroughputRuns));
        }
        finally
        {
            await workload.DisposeAsync();
        }

        return
        [
            new ReportRow(Name, "runs_per_s", ours, "runs/s", "TransformBlock chain", baseline, Target.RatioAtLeast(0.25), ratio),
            new ReportRow(Name, ReportRow.LostEvents, workload.Lost, "events", "none expected", 0, Target.ValueAtMost(0, "events")),
        ];
    }
}

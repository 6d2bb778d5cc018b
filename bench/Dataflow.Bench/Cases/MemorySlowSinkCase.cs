using System.Diagnostics;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>memory.slowsink: events through a sink 10× slower than the producers: peak working set and events lost.</summary>
internal sealed class MemorySlowSinkCase : IBenchCase
{
    private const string Baseline = "BroadcastBlock + unbounded ActionBlock";

    public string Name => "memory.slowsink";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        var spinTicks = await SlowSinkWorkload.CalibrateAsync();
        var ours = await SlowSinkWorkload.RunHubAsync(size.SlowSinkEvents, spinTicks);
        var baseline = await SlowSinkWorkload.RunBroadcastBlockAsync(size.SlowSinkEvents, spinTicks);
        var sinkUs = spinTicks * 1e6 / Stopwatch.Frequency;
        return
        [
            new ReportRow(Name, "peak_working_set_mb", ours.PeakMb, "MB", Baseline, baseline.PeakMb, Target.ValueAtMost(200, "MB")),
            new ReportRow(Name, "working_set_growth_mb", ours.GrowthMb, "MB", Baseline, baseline.GrowthMb),
            new ReportRow(Name, ReportRow.LostEvents, ours.Lost, "events", Baseline, baseline.Lost, Target.ValueAtMost(0, "events")),
            new ReportRow(Name, "wall_s", ours.Seconds, "s", $"{Baseline} (sink {sinkUs:0.0} us/event)", baseline.Seconds),
        ];
    }
}

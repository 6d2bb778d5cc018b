using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>events.fanout: events per second from many runs into 4 checking sinks, against a raw BroadcastBlock and 4 unbounded ActionBlocks.</summary>
internal sealed class EventsFanoutCase : IBenchCase
{
    public const int Sinks = 4;

    private const string Baseline = "BroadcastBlock + 4 unbounded ActionBlocks";

    public string Name => "events.fanout";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        var warmup = Math.Min(size.FanoutEvents, 40_000);
        await Repeat.WarmUpAsync(size.WarmUp, () => FanoutWorkload.RunHubAsync(warmup, Sinks), () => FanoutWorkload.RunBroadcastBlockAsync(warmup, Sinks));
        long lost = 0;
        long baselineLost = 0;
        var (ours, baseline, ratio) = await Repeat.MedianAsync(
            size.Repetitions,
            async () =>
            {
                var figures = await FanoutWorkload.RunHubAsync(size.FanoutEvents, Sinks);
                lost += figures.Lost;
                return figures.EventsPerSecond;
            },
            async () =>
            {
                var figures = await FanoutWorkload.RunBroadcastBlockAsync(size.FanoutEvents, Sinks);
                baselineLost += figures.Lost;
                return figures.EventsPerSecond;
            });
        return
        [
            new ReportRow(Name, "events_per_s", ours, "events/s", Baseline, baseline, Target.RatioAtLeast(0.5), ratio),
            new ReportRow(Name, ReportRow.LostEvents, lost, "events", Baseline, baselineLost, Target.ValueAtMost(0, "events")),
        ];
    }
}

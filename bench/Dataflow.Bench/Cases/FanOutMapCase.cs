using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;

namespace Dataflow.Bench.Cases;

/// <summary>
/// fanout.map: one parent fanning out to every item against the same work as separate runs; then the fan-out's peak
/// working set over ten times fewer items at the same bound, which shows that memory follows the bound, not the items.
/// </summary>
internal sealed class FanOutMapCase : IBenchCase
{
    private const string Baseline = "the same items as separate runs (SubmitAsync)";

    public string Name => "fanout.map";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        var items = size.FanOutItems;
        var warmup = items;
        await Repeat.WarmUpAsync(size.WarmUp, () => FanOutMapWorkload.RunFanOutAsync(warmup), () => FanOutMapWorkload.RunSeparateAsync(warmup));
        MapFigures ours = default;
        MapFigures separate = default;
        var (_, _, ratio) = await Repeat.MedianAsync(
            size.Repetitions,
            async () => (ours = await FanOutMapWorkload.RunFanOutAsync(items)).ItemsPerSecond,
            async () => (separate = await FanOutMapWorkload.RunSeparateAsync(items)).ItemsPerSecond);
        var tenth = await FanOutMapWorkload.RunFanOutAsync(items / 10);
        return
        [
            new ReportRow(Name, "items_per_s", ours.ItemsPerSecond, "items/s", Baseline, separate.ItemsPerSecond, Target.RatioAtLeast(0.8), ratio),
            new ReportRow(Name, "peak_working_set_growth_mb", ours.PeakGrowthMb, "MB", Baseline, separate.PeakGrowthMb, Target.ValueAtMost(64, "MB")),
            new ReportRow(Name, "peak_growth_at_a_tenth_of_the_items_mb", tenth.PeakGrowthMb, "MB", $"{items:N0} items (the row above)", ours.PeakGrowthMb),
        ];
    }
}

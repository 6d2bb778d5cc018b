using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;

namespace Dataflow.Bench.Cases;

/// <summary>
/// dashboard.page: the run list (first page, and the failed runs), and a run page, over HTTP from the dashboard on a
/// store of <see cref="BenchSize.StoreSearchEntries"/> entries (a million in the full report), against the same
/// queries done directly. The bound: under 200 ms server time at a million entries.
/// </summary>
internal sealed class DashboardPageCase : IBenchCase
{
    private const string Baseline = "the same query, direct";

    public string Name => "dashboard.page";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        using var scratch = new ScratchDirectory();
        await using var workload = await DashboardWorkload.CreateAsync(scratch.File("dashboard.db"), size.StoreSearchEntries);
        await workload.MeasureAsync(Math.Min(size.StoreSearchRepetitions, 10));
        var rows = new List<ReportRow>();
        foreach (var (page, ours, direct) in await workload.MeasureAsync(Math.Max(10, size.StoreSearchRepetitions / 5)))
        {
            var (o, d) = (new Latencies(ours), new Latencies(direct));
            rows.Add(new ReportRow(Name, $"{page}_p50_ms", o.P50, "ms", Baseline, d.P50));
            rows.Add(new ReportRow(Name, $"{page}_p99_ms", o.P99, "ms", Baseline, d.P99, Target.ValueAtMost(200, "ms")));
        }

        return rows;
    }
}

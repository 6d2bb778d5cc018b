using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>store.search: newest-first search latency for a rare term, a common term and a prefix, against the original's query shape.</summary>
internal sealed class StoreSearchCase : IBenchCase
{
    private const string Baseline = "original: join, ORDER BY timestamp";

    public string Name => "store.search";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        using var scratch = new ScratchDirectory();
        await using var workload = await StoreSearchWorkload.CreateAsync(scratch.File("search.db"), size.StoreSearchEntries);
        workload.Measure(Math.Min(size.StoreSearchRepetitions, 10));
        var rows = new List<ReportRow>();
        foreach (var (query, ours, original) in workload.Measure(size.StoreSearchRepetitions))
        {
            rows.Add(new ReportRow(Name, $"{query}_p50_ms", ours.P50, "ms", Baseline, original.P50));
            rows.Add(new ReportRow(Name, $"{query}_p99_ms", ours.P99, "ms", Baseline, original.P99, Target.ValueAtMost(5, "ms")));
        }

        return rows;
    }
}

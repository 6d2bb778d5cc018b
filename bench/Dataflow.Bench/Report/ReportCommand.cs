using System.Diagnostics;
using Dataflow.Bench.Cases;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Report;

/// <summary>
/// The <c>report</c> command: every case beside its baseline, one table, optional JSON. Exit code 0 even when a target
/// is missed (the report judges; it does not fail CI); 1 when a case crashes; 3 when a lossless path lost events.
/// </summary>
internal static class ReportCommand
{
    public static IReadOnlyList<IBenchCase> Cases { get; } =
    [
        new ThroughputSilentCase(),
        new ThroughputNormalCase(),
        new StarvationAsyncCase(),
        new EventsFanoutCase(),
        new FanOutMapCase(),
        new MemorySlowSinkCase(),
        new StoreWriteCase(),
        new StoreSearchCase(),
        new PostgresStoreCase(),
        new ScaleoutWorkersCase(),
        new ResilienceFlakyCase(),
        new DurableOverheadCase(),
        new DurableResumeCase(),
        new DashboardPageCase(),
        new Peers.PeersCase(),

        // Last: its naive baseline makes the thread pool grow, which would flatter the cases after it.
        new StarvationBlockingCase(),
    ];

    public static async Task<int> RunAsync(BenchSize size, string? jsonPath, IReadOnlySet<string>? only = null)
    {
        var rows = new List<ReportRow>();
        var crashed = false;
        var total = Stopwatch.StartNew();
        Console.WriteLine($"Dataflow bench report ({size.Name}), {Environment.ProcessorCount} cores, .NET {Environment.Version}, {Environment.OSVersion}");
        foreach (var benchCase in Cases.Where(c => only is null || only.Contains(c.Name)))
        {
            var watch = Stopwatch.StartNew();
            try
            {
                rows.AddRange(await benchCase.RunAsync(size));
                Console.Error.WriteLine($"  {benchCase.Name}: {watch.Elapsed.TotalSeconds:0.0} s");
            }
            catch (Exception e)
            {
                // A crash of one case is reported and fails the process, but the other cases still run.
                crashed = true;
                Console.Error.WriteLine($"  {benchCase.Name}: CRASHED after {watch.Elapsed.TotalSeconds:0.0} s: {e}");
            }
        }

        Console.WriteLine();
        Console.Write(ReportWriter.Table(rows));
        Console.WriteLine();
        var missed = rows.Count(r => r.Met == false);
        var lost = rows.Where(r => r.Metric == ReportRow.LostEvents).Sum(r => (long)r.Value);
        Console.WriteLine($"{rows.Count} rows, {rows.Count(r => r.Met == true)} targets met, {missed} missed, {lost} events lost, {total.Elapsed.TotalSeconds:0.0} s.");
        if (jsonPath is not null)
        {
            await ReportWriter.WriteJsonAsync(jsonPath, rows);
            Console.WriteLine($"JSON written to {jsonPath}");
        }

        return crashed ? 1 : lost > 0 ? 3 : 0;
    }
}

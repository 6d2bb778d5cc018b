using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>
/// store.write: events per second persisted through the store sink, against one commit per entry and against a
/// prepared-statement batch (that pair measured in alternating repetitions after a JIT-quiet warm-up, each on a new file).
/// </summary>
internal sealed class StoreWriteCase : IBenchCase
{
    public string Name => "store.write";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        using var scratch = new ScratchDirectory();
        var files = 0;
        string Next(string name) => scratch.File($"{name}-{++files}.db");

        // Both sides warm up until the JIT is quiet, then run in pairs (three at most: each is seconds at full size);
        // the ratio is the median of the pairs' ratios, as in the other in-process cases.
        var warmUp = Math.Min(size.StoreWriteEntries, 20_000);
        await Repeat.WarmUpAsync(size.WarmUp * 3, () => StoreWriteWorkload.RunStoreSinkAsync(Next("warm-sink"), warmUp), () => StoreWriteWorkload.RunPreparedBatchAsync(Next("warm-batch"), warmUp));
        long lost = 0;
        long batchLost = 0;
        var (oursRate, batchRate, ratio) = await Repeat.MedianAsync(
            Math.Min(size.Repetitions, 3),
            async () =>
            {
                var figures = await StoreWriteWorkload.RunStoreSinkAsync(Next("sink"), size.StoreWriteEntries);
                lost += figures.Lost;
                return figures.EntriesPerSecond;
            },
            async () =>
            {
                var figures = await StoreWriteWorkload.RunPreparedBatchAsync(Next("batch"), size.StoreWriteEntries);
                batchLost += figures.Lost;
                return figures.EntriesPerSecond;
            });
        var ours = new StoreWriteFigures(oursRate, lost);
        var batch = new StoreWriteFigures(batchRate, batchLost);
        var direct = await StoreWriteWorkload.RunStoreDirectAsync(scratch.File("direct.db"), size.StoreWriteEntries);
        var perEntry = await StoreWriteWorkload.RunCommitPerEntryAsync(scratch.File("per-entry.db"), size.StorePerCommitEntries);
        return
        [
            new ReportRow(Name, "entries_per_s", ours.EntriesPerSecond, "entries/s", "one commit per entry (original)", perEntry.EntriesPerSecond, Target.RatioAtLeast(5)),
            new ReportRow(Name, "entries_per_s", ours.EntriesPerSecond, "entries/s", "prepared-statement batch", batch.EntriesPerSecond, Target.RatioAtLeast(0.9), ratio),
            new ReportRow(Name, "entries_per_s_without_hub", direct.EntriesPerSecond, "entries/s", "prepared-statement batch", batch.EntriesPerSecond),
            new ReportRow(Name, ReportRow.LostEvents, ours.Lost + direct.Lost, "events", "prepared-statement batch", batch.Lost, Target.ValueAtMost(0, "events")),
        ];
    }
}

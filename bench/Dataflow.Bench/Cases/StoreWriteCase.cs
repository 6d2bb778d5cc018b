using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>store.write: events per second persisted through the store sink, against one commit per entry and against a prepared-statement batch.</summary>
internal sealed class StoreWriteCase : IBenchCase
{
    public string Name => "store.write";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        using var scratch = new ScratchDirectory();
        await StoreWriteWorkload.RunStoreSinkAsync(scratch.File("warm-sink.db"), 2_000);
        await StoreWriteWorkload.RunPreparedBatchAsync(scratch.File("warm-batch.db"), 2_000);
        var ours = await StoreWriteWorkload.RunStoreSinkAsync(scratch.File("sink.db"), size.StoreWriteEntries);
        var direct = await StoreWriteWorkload.RunStoreDirectAsync(scratch.File("direct.db"), size.StoreWriteEntries);
        var batch = await StoreWriteWorkload.RunPreparedBatchAsync(scratch.File("batch.db"), size.StoreWriteEntries);
        var perEntry = await StoreWriteWorkload.RunCommitPerEntryAsync(scratch.File("per-entry.db"), size.StorePerCommitEntries);
        return
        [
            new ReportRow(Name, "entries_per_s", ours.EntriesPerSecond, "entries/s", "one commit per entry (original)", perEntry.EntriesPerSecond, Target.RatioAtLeast(5)),
            new ReportRow(Name, "entries_per_s", ours.EntriesPerSecond, "entries/s", "prepared-statement batch", batch.EntriesPerSecond, Target.RatioAtLeast(0.9)),
            new ReportRow(Name, "entries_per_s_without_hub", direct.EntriesPerSecond, "entries/s", "prepared-statement batch", batch.EntriesPerSecond),
            new ReportRow(Name, ReportRow.LostEvents, ours.Lost + direct.Lost, "events", "prepared-statement batch", batch.Lost, Target.ValueAtMost(0, "events")),
        ];
    }
}

using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Npgsql;

namespace Dataflow.Bench.Cases;

/// <summary>
/// The PostgreSQL store beside the SQLite store, on one throwaway server (started once for both parts):
/// <c>store.write</c> rows (events per second through the store sink with binary COPY per batch, the store's way, against
/// multi-row INSERT per batch, which decided that choice, and against the SQLite store over the same events) and
/// <c>store.search</c> rows (newest-first latency of the rare, common and prefix queries, against the SQLite store over
/// the same entries).
/// </summary>
internal sealed class PostgresStoreCase : IBenchCase
{
    public string Name => "store.postgres";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        using var scratch = new ScratchDirectory();
        await using var workload = await PostgresStoreWorkload.StartAsync();
        if (size.Repetitions > 1)
        {
            await workload.RunStoreSinkAsync(2_000, BatchInsert.Copy);
            await workload.RunStoreSinkAsync(2_000, BatchInsert.MultiRowInsert);
            await StoreWriteWorkload.RunStoreSinkAsync(scratch.File("warm.db"), 2_000);
        }

        var copy = await workload.RunStoreSinkAsync(size.StoreWriteEntries, BatchInsert.Copy);
        var insert = await workload.RunStoreSinkAsync(size.StoreWriteEntries, BatchInsert.MultiRowInsert);
        var sqlite = await StoreWriteWorkload.RunStoreSinkAsync(scratch.File("sink.db"), size.StoreWriteEntries);
        var rows = new List<ReportRow>
        {
            new("store.write", "postgres_entries_per_s", copy.EntriesPerSecond, "entries/s", "PostgreSQL multi-row INSERT per batch", insert.EntriesPerSecond),
            new("store.write", "postgres_entries_per_s", copy.EntriesPerSecond, "entries/s", "SQLite store, same events", sqlite.EntriesPerSecond),
            new("store.write", "postgres_" + ReportRow.LostEvents, copy.Lost + insert.Lost, "events", "SQLite store, same events", sqlite.Lost, Target.ValueAtMost(0, "events")),
        };
        foreach (var (query, postgres, lite) in await workload.MeasureSearchAsync(scratch.File("search.db"), size.StoreSearchEntries, size.StoreSearchRepetitions))
        {
            rows.Add(new ReportRow("store.search", $"postgres_{query}_p50_ms", postgres.P50, "ms", "SQLite store, same entries", lite.P50));
            rows.Add(new ReportRow("store.search", $"postgres_{query}_p99_ms", postgres.P99, "ms", "SQLite store, same entries", lite.P99));
        }

        return rows;
    }
}

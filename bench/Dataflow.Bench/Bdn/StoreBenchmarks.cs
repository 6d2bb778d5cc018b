using BenchmarkDotNet.Attributes;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Bdn;

/// <summary>
/// store.write: entries per operation through the hub and the store sink, against one commit per entry (the original's
/// way, the baseline) and a hand-written prepared-statement batch. Each invocation writes into a fresh file.
/// </summary>
[MemoryDiagnoser]
public class StoreWriteBenchmarks
{
    private ScratchDirectory? _scratch;
    private int _file;

    [Params(5_000)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup() => _scratch = new ScratchDirectory();

    [GlobalCleanup]
    public void Cleanup() => _scratch?.Dispose();

    [Benchmark(Baseline = true)]
    public async Task CommitPerEntry() => Record(nameof(CommitPerEntry), await StoreWriteWorkload.RunCommitPerEntryAsync(NextFile(), Entries));

    [Benchmark]
    public async Task PreparedBatch() => Record(nameof(PreparedBatch), await StoreWriteWorkload.RunPreparedBatchAsync(NextFile(), Entries));

    [Benchmark]
    public async Task StoreSink() => Record(nameof(StoreSink), await StoreWriteWorkload.RunStoreSinkAsync(NextFile(), Entries));

    private string NextFile() => _scratch!.File($"write-{Interlocked.Increment(ref _file)}.db");

    private void Record(string method, StoreWriteFigures figures)
        => Figures.Record(Figures.Key(nameof(StoreWriteBenchmarks), method, (nameof(Entries), Entries)), Figures.Lost, figures.Lost);
}

/// <summary>
/// store.search: one newest-first search (limit 20) over a prepared database, through the store against the original's
/// query shape (join, ORDER BY timestamp), for each of the rare, common and prefix queries.
/// </summary>
[MemoryDiagnoser]
public class StoreSearchBenchmarks
{
    private ScratchDirectory? _scratch;
    private StoreSearchWorkload? _workload;

    [Params(100_000)]
    public int Entries { get; set; }

    [ParamsSource(nameof(QueryNames))]
    public string Query { get; set; } = "rare";

    public static IEnumerable<string> QueryNames => StoreSearchWorkload.Queries.Select(q => q.Name);

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _scratch = new ScratchDirectory();
        _workload = await StoreSearchWorkload.CreateAsync(_scratch.File("search.db"), Entries);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        if (_workload is not null)
        {
            await _workload.DisposeAsync();
        }

        _scratch?.Dispose();
    }

    /// <returns>The hit count, so the search cannot be optimized away.</returns>
    [Benchmark(Baseline = true)]
    public int Original()
    {
        _workload!.SearchOriginal(QueryText, out var hits);
        return hits;
    }

    /// <returns>The hit count, so the search cannot be optimized away.</returns>
    [Benchmark]
    public int Store()
    {
        _workload!.SearchStore(QueryText, out var hits);
        return hits;
    }

    private string QueryText => StoreSearchWorkload.Queries.First(q => q.Name == Query).Query;
}

using BenchmarkDotNet.Attributes;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Bdn;

/// <summary>starvation.async: concurrent async runs through the engine, against plain async methods under Task.WhenAll.</summary>
[MemoryDiagnoser]
public class StarvationAsyncBenchmarks
{
    [Params(20_000)]
    public int Runs { get; set; }

    [Benchmark(Baseline = true)]
    public async Task PlainAsync() => Record(nameof(PlainAsync), await StarvationWorkload.RunPlainAsync(Runs));

    [Benchmark]
    public async Task Engine() => Record(nameof(Engine), await StarvationWorkload.RunEngineAsync(Runs));

    private void Record(string method, StarvationFigures figures)
    {
        var key = Figures.Key(nameof(StarvationAsyncBenchmarks), method, (nameof(Runs), Runs));
        Figures.Record(key, Figures.HeartbeatLag, figures.HeartbeatMaxLagMs);
        Figures.Record(key, Figures.RunP50, figures.Latencies.P50);
        Figures.Record(key, Figures.RunP99, figures.Latencies.P99);
    }
}

/// <summary>starvation.blocking: async runs beside blocking nodes declared blocking, against the same code naively on the pool.</summary>
[MemoryDiagnoser]
public class StarvationBlockingBenchmarks
{
    [Params(64)]
    public int BlockingNodes { get; set; }

    [Benchmark(Baseline = true)]
    public Task NaiveOnThreadPool() => RunAsync(nameof(NaiveOnThreadPool), BlockingMode.Naive);

    [Benchmark]
    public Task DeclaredBlocking() => RunAsync(nameof(DeclaredBlocking), BlockingMode.Declared);

    [Benchmark]
    public Task NoBlockingWork() => RunAsync(nameof(NoBlockingWork), BlockingMode.None);

    private async Task RunAsync(string method, BlockingMode mode)
    {
        var figures = await BlockingWorkload.RunAsync(BenchSize.Quick with { BlockingNodes = BlockingNodes, BlockingRounds = 1 }, mode);
        var key = Figures.Key(nameof(StarvationBlockingBenchmarks), method, (nameof(BlockingNodes), BlockingNodes));
        Figures.Record(key, Figures.HeartbeatLag, figures.HeartbeatMaxLagMs);
        Figures.Record(key, Figures.RunP50, figures.AsyncRuns.P50);
        Figures.Record(key, Figures.RunP99, figures.AsyncRuns.P99);
    }
}

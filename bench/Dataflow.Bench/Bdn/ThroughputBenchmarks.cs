using BenchmarkDotNet.Attributes;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Bdn;

/// <summary>throughput.silent and throughput.normal: the trivial graph through the engine, against a TransformBlock chain.</summary>
[MemoryDiagnoser]
public class ThroughputBenchmarks
{
    private ThroughputWorkload? _silent;
    private ThroughputWorkload? _normal;

    [Params(10_000, 100_000)]
    public int Runs { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _silent = new ThroughputWorkload(OutputPolicy.Silent, withSink: false);
        _normal = new ThroughputWorkload(OutputPolicy.Normal, withSink: true);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _silent!.DisposeAsync();
        await _normal!.DisposeAsync();
        Figures.Record(Figures.Key(nameof(ThroughputBenchmarks), nameof(EngineNormal), (nameof(Runs), Runs)), Figures.Lost, _normal.Lost);
    }

    [Benchmark(Baseline = true)]
    public Task<double> TransformBlockChain() => ThroughputWorkload.RunChainAsync(Runs);

    [Benchmark]
    public Task<double> EngineSilent() => _silent!.RunEngineAsync(Runs);

    [Benchmark]
    public Task<double> EngineNormal() => _normal!.RunEngineAsync(Runs);
}

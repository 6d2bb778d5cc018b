using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Dataflow.Bench.Peers;

namespace Dataflow.Bench.Bdn;

/// <summary>
/// peers: workloads A, B and C of <see cref="PeerWorkloads"/>, Dataflow's sides beside Akka.Streams', with the memory
/// diagnoser. Each operation is one item (A), one run of the concurrent batch (B) or one run at a time (C), so the
/// Allocated column reads as bytes per item or per run, as the report's rows do; each workload's Akka side is its
/// category's baseline. Run with <c>bdn --filter '*Peers*'</c>.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PeersBenchmarks
{
    private const int ItemsA = 10_000;
    private const int RunsB = 2_000;
    private const int RunsC = 1_000;

    private PeerWorkloads? _peers;

    [GlobalSetup]
    public void Setup() => _peers = new PeerWorkloads();

    [GlobalCleanup]
    public async Task CleanupAsync() => await _peers!.DisposeAsync();

    [Benchmark(Baseline = true, OperationsPerInvoke = ItemsA)]
    [BenchmarkCategory("A")]
    public Task AkkaA() => _peers!.AkkaAAsync(ItemsA);

    [Benchmark(OperationsPerInvoke = ItemsA)]
    [BenchmarkCategory("A")]
    public Task DataflowBatchA() => PeerWorkloads.DataflowBatchAAsync(ItemsA);

    [Benchmark(OperationsPerInvoke = ItemsA)]
    [BenchmarkCategory("A")]
    public Task DataflowSubmitEachA() => PeerWorkloads.DataflowAAsync(ItemsA);

    [Benchmark(Baseline = true, OperationsPerInvoke = RunsB)]
    [BenchmarkCategory("B")]
    public Task AkkaB() => _peers!.AkkaBAsync(RunsB);

    [Benchmark(OperationsPerInvoke = RunsB)]
    [BenchmarkCategory("B")]
    public Task DataflowB() => PeerWorkloads.DataflowBAsync(RunsB);

    [Benchmark(Baseline = true, OperationsPerInvoke = RunsC)]
    [BenchmarkCategory("C")]
    public Task AkkaC() => _peers!.AkkaCAsync(RunsC);

    [Benchmark(OperationsPerInvoke = RunsC)]
    [BenchmarkCategory("C")]
    public Task DataflowC() => PeerWorkloads.DataflowCAsync(RunsC);
}

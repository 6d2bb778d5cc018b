using BenchmarkDotNet.Attributes;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Bdn;

/// <summary>events.fanout: events into 4 checking sinks through the hub, against a raw BroadcastBlock and 4 unbounded ActionBlocks.</summary>
[MemoryDiagnoser]
public class EventsFanoutBenchmarks
{
    [Params(100_000)]
    public int Events { get; set; }

    [Benchmark(Baseline = true)]
    public async Task BroadcastBlock() => Record(nameof(BroadcastBlock), await FanoutWorkload.RunBroadcastBlockAsync(Events, 4));

    [Benchmark]
    public async Task EventHub() => Record(nameof(EventHub), await FanoutWorkload.RunHubAsync(Events, 4));

    private void Record(string method, FanoutFigures figures)
        => Figures.Record(Figures.Key(nameof(EventsFanoutBenchmarks), method, (nameof(Events), Events)), Figures.Lost, figures.Lost);
}

/// <summary>memory.slowsink: a sink 10 times slower than the producers, lossless hub against an unbounded ActionBlock.</summary>
[MemoryDiagnoser]
public class MemorySlowSinkBenchmarks
{
    private long _spinTicks;

    [Params(100_000)]
    public int Events { get; set; }

    [GlobalSetup]
    public async Task SetupAsync() => _spinTicks = await SlowSinkWorkload.CalibrateAsync();

    [Benchmark(Baseline = true)]
    public async Task UnboundedActionBlock() => Record(nameof(UnboundedActionBlock), await SlowSinkWorkload.RunBroadcastBlockAsync(Events, _spinTicks));

    [Benchmark]
    public async Task LosslessHub() => Record(nameof(LosslessHub), await SlowSinkWorkload.RunHubAsync(Events, _spinTicks));

    private void Record(string method, SlowSinkFigures figures)
    {
        var key = Figures.Key(nameof(MemorySlowSinkBenchmarks), method, (nameof(Events), Events));
        Figures.Record(key, Figures.PeakMb, figures.PeakMb);
        Figures.Record(key, Figures.Lost, figures.Lost);
    }
}

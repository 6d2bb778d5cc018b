using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Workloads;

/// <summary>
/// Runs of the trivial Ping graph through the engine, and the same node objects through a hand-written chain of
/// three async TransformBlocks. Both sides get the same parallelism per step and the same bound on items in flight.
/// </summary>
internal sealed class ThroughputWorkload : IAsyncDisposable
{
    public const int InFlight = 1024;

    private readonly Graph _graph = Graph.Create<PingStart>(new GraphOptions
    {
        MaxDegreeOfParallelism = Environment.ProcessorCount,
        MaxRunsInFlight = InFlight,
    });

    private readonly GraphEngine _engine = new(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false });
    private readonly RunOptions _runOptions;
    private readonly CountingSink? _sink;
    private readonly SinkRegistration? _registration;

    /// <param name="policy">The runs' policy.</param>
    /// <param name="withSink">Whether one lossless sink consumes every event.</param>
    public ThroughputWorkload(OutputPolicy policy, bool withSink)
    {
        _runOptions = new RunOptions { Policy = policy };
        if (withSink)
        {
            _sink = new CountingSink();
            _registration = _engine.Events.AddSink(_sink, new SinkOptions { Name = "counter" });
        }
    }

    /// <summary>Events the sink has not received, over every run so far; 0 without a sink.</summary>
    public long Lost { get; private set; }

    private long ExpectedEvents { get; set; }

    /// <summary>Submits <paramref name="runs"/> runs, waiting for room as needed, and waits until all are done and their events consumed.</summary>
    /// <returns>Runs per second.</returns>
    public async Task<double> RunEngineAsync(int runs)
    {
        var completions = new Task[runs];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < runs; i++)
        {
            var run = await _engine.SubmitAsync(_graph, new PingStart(i), _runOptions);
            completions[i] = run.Completion;
        }

        await Task.WhenAll(completions);
        if (_sink is not null)
        {
            ExpectedEvents += runs * 2L;
            await WaitForEventsAsync();
        }

        return runs / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>The baseline: the same node objects through three async TransformBlocks.</summary>
    /// <returns>Runs per second.</returns>
    public static async Task<double> RunChainAsync(int runs)
    {
        var context = BaselineContext.Create("chain", new PingStart(0));
        var step = new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, EnsureOrdered = false };
        var link = new DataflowLinkOptions { PropagateCompletion = true };
        long done = 0;
        var first = new TransformBlock<PingStart, PingMiddle>(
            async node => await node.RunAsync(context),
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, EnsureOrdered = false, BoundedCapacity = InFlight });
        var second = new TransformBlock<PingMiddle, PingEnd>(async node => await node.RunAsync(context), step);
        var third = new TransformBlock<PingEnd, PingEnd>(
            node =>
            {
                Interlocked.Increment(ref done);
                return Task.FromResult(node);
            },
            step);
        first.LinkTo(second, link);
        second.LinkTo(third, link);
        third.LinkTo(DataflowBlock.NullTarget<PingEnd>(), link);

        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < runs; i++)
        {
            await first.SendAsync(new PingStart(i));
        }

        first.Complete();
        await third.Completion;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (Interlocked.Read(ref done) != runs)
        {
            throw new InvalidOperationException($"The baseline chain finished {done} of {runs} items.");
        }

        return runs / seconds;
    }

    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync();
        if (_sink is not null)
        {
            Lost = ExpectedEvents - _sink.Count;
        }
    }

    private async Task WaitForEventsAsync()
    {
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 30);
        while (_sink!.Count < ExpectedEvents && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Yield();
        }

        Lost = ExpectedEvents - _sink.Count;
    }
}

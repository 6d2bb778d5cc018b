using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using Akka.Actor;
using Akka.Configuration;
using Akka.Streams;
using Akka.Streams.Dsl;
using Dataflow.Bench.Measurement;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;

namespace Dataflow.Bench.Peers;

/// <summary>What one side of workload B saw: wall time, run latencies, the heartbeat's worst lag, bytes per run.</summary>
internal sealed record ConcurrentFigures(double WallMs, Latencies Latencies, double HeartbeatMaxLagMs, double BytesPerRun);

/// <summary>
/// The peer workloads of issue 15, each written in its system's idiomatic fastest form, on the same node objects:
/// A, many items through three trivial synchronous steps (items per second, bytes per item); B, many concurrent runs of
/// two <c>Task.Delay(10)</c> steps (wall, latency, heartbeat lag, bytes per run); C, one run at a time through a
/// long-lived pipeline (microseconds per run). Dataflow runs with <c>new GraphEngine()</c> and default graph options
/// unless a case says otherwise.
/// </summary>
internal sealed class PeerWorkloads : IAsyncDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create(
        "peers",
        ConfigurationFactory.ParseString("akka.loglevel = ERROR\nakka.stdout-loglevel = ERROR\nakka.log-dead-letters = off"));

    private readonly IMaterializer _materializer;

    public PeerWorkloads() => _materializer = _system.Materializer();

    /// <summary>The parallelism every side gets per step in A: Dataflow's default per node.</summary>
    public static int StepParallelism => new GraphOptions().MaxDegreeOfParallelism;

    // ---- A: throughput of three trivial synchronous steps ----

    public static async Task<(double ItemsPerSecond, double BytesPerItem)> DataflowAAsync(int items)
    {
        var graph = Graph.Create<PingStart>();
        await using var engine = new GraphEngine();
        return await MeasureAsync(items, async () =>
        {
            var completions = new Task[items];
            for (var i = 0; i < items; i++)
            {
                completions[i] = (await engine.SubmitAsync(graph, new PingStart(i))).Completion;
            }

            await Task.WhenAll(completions);
        });
    }

    /// <summary>
    /// A through <see cref="GraphEngine.RunBatchAsync(Graph, IEnumerable{INode}, BatchOptions?, CancellationToken)"/>:
    /// the batch as a whole, as Akka's side runs its stream to a sink, without a completion task per item.
    /// </summary>
    public static async Task<(double ItemsPerSecond, double BytesPerItem)> DataflowBatchAAsync(int items)
    {
        var graph = Graph.Create<PingStart>();
        await using var engine = new GraphEngine();
        return await MeasureAsync(items, async () =>
        {
            var result = await engine.RunBatchAsync(graph, Enumerable.Range(0, items).Select(n => (INode)new PingStart(n)));
            if (result.Done != items)
            {
                throw new InvalidOperationException($"The batch ended with {result}, not {items} done.");
            }
        });
    }

    /// <summary>A through <see cref="GraphEngine.SubmitManyAsync(Graph, IEnumerable{INode}, RunOptions?, CancellationToken)"/>: one batch, the items generated as admission takes them.</summary>
    public static async Task<(double ItemsPerSecond, double BytesPerItem)> DataflowManyAAsync(int items)
    {
        var graph = Graph.Create<PingStart>();
        await using var engine = new GraphEngine();
        return await MeasureAsync(items, async () =>
        {
            var completions = new Task[items];
            var i = 0;
            await foreach (var run in engine.SubmitManyAsync(graph, Enumerable.Range(0, items).Select(n => (INode)new PingStart(n))))
            {
                completions[i++] = run.Completion;
            }

            await Task.WhenAll(completions);
        });
    }

    public Task<(double ItemsPerSecond, double BytesPerItem)> AkkaAAsync(int items)
    {
        var context = BaselineContext.Create("akka", new PingStart(0));
        var parallelism = StepParallelism;
        return MeasureAsync(items, () => Source.From(Enumerable.Range(0, items))
            .SelectAsyncUnordered(parallelism, i => new PingStart(i).RunAsync(context).AsTask())
            .SelectAsyncUnordered(parallelism, node => node.RunAsync(context).AsTask())
            .SelectAsyncUnordered(parallelism, node => Task.FromResult(node))
            .RunWith(Sink.Ignore<PingEnd>(), _materializer));
    }

    public static Task<(double ItemsPerSecond, double BytesPerItem)> SyncChainAAsync(int items)
    {
        var context = BaselineContext.Create("chain", new PingStart(0));
        var step = new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, EnsureOrdered = false };
        return MeasureAsync(items, async () =>
        {
#pragma warning disable VSTHRD002 // The Ping nodes complete synchronously: reading the value task's result does not wait.
            var first = new TransformBlock<PingStart, PingMiddle>(node => node.RunAsync(context).Result, new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, EnsureOrdered = false, BoundedCapacity = 1024 });
            var second = new TransformBlock<PingMiddle, PingEnd>(node => node.RunAsync(context).Result, step);
#pragma warning restore VSTHRD002
            var third = new ActionBlock<PingEnd>(_ => { }, step);
            var link = new DataflowLinkOptions { PropagateCompletion = true };
            first.LinkTo(second, link);
            second.LinkTo(third, link);
            for (var i = 0; i < items; i++)
            {
                await first.SendAsync(new PingStart(i));
            }

            first.Complete();
            await third.Completion;
        });
    }

    // ---- B: many concurrent runs of two Task.Delay(10) steps ----

    public static async Task<ConcurrentFigures> DataflowBAsync(int runs)
    {
        // Every run in flight at once, as on the other sides: no bound per node, admission sized to the batch.
        var graph = Graph.Create<StressStart>(new GraphOptions { MaxDegreeOfParallelism = GraphOptions.Unbounded, MaxRunsInFlight = runs });
        await using var engine = new GraphEngine();
        var started = new GraphRun[runs];
        return await MeasureConcurrentAsync(runs, async () =>
        {
            for (var i = 0; i < runs; i++)
            {
                started[i] = engine.Submit(graph, new StressStart(StarvationWorkload.DelayMs));
            }

            await Task.WhenAll(started.Select(r => r.Completion));
            return started.Select(r => r.Elapsed.TotalMilliseconds);
        });
    }

    public Task<ConcurrentFigures> AkkaBAsync(int runs)
    {
        var context = BaselineContext.Create("akka", new StressStart(StarvationWorkload.DelayMs));
        return MeasureConcurrentAsync(runs, async () => await Source.From(Enumerable.Range(0, runs))
            .SelectAsyncUnordered(runs, async (int _) =>
            {
                var t0 = Stopwatch.GetTimestamp();
                var middle = await new StressStart(StarvationWorkload.DelayMs).RunAsync(context);
                await middle.RunAsync(context);
                return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            })
            .RunWith(Sink.Seq<double>(), _materializer));
    }

    public static Task<ConcurrentFigures> PlainBAsync(int runs)
    {
        var context = BaselineContext.Create("plain", new StressStart(StarvationWorkload.DelayMs));
        return MeasureConcurrentAsync(runs, async () =>
        {
            var tasks = new Task<double>[runs];
            for (var i = 0; i < runs; i++)
            {
                tasks[i] = PlainRunAsync(context);
            }

            return await Task.WhenAll(tasks);
        });
    }

    // ---- C: one run at a time ----

    public static async Task<Latencies> DataflowCAsync(int runs)
    {
        var graph = Graph.Create<PingStart>();
        await using var engine = new GraphEngine();
        var micros = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var run = await engine.SubmitAsync(graph, new PingStart(i));
            await run.Completion;
            micros[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }

        return new Latencies(micros);
    }

    public async Task<Latencies> AkkaCAsync(int runs)
    {
        var context = BaselineContext.Create("akka", new PingStart(0));
        var queue = Source.Queue<(PingStart Node, TaskCompletionSource Done)>(1, OverflowStrategy.Backpressure)
            .SelectAsync(1, async item => (Node: await (await item.Node.RunAsync(context)).RunAsync(context), item.Done))
            .To(Sink.ForEach<(PingEnd Node, TaskCompletionSource Done)>(item => item.Done.TrySetResult()))
            .Run(_materializer);
        var micros = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await queue.OfferAsync((new PingStart(i), done));
            await done.Task;
            micros[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }

        queue.Complete();
        await queue.WatchCompletionAsync();
        return new Latencies(micros);
    }

    public async ValueTask DisposeAsync() => await _system.Terminate();

    private static async Task<double> PlainRunAsync(NodeContext context)
    {
        var t0 = Stopwatch.GetTimestamp();
        var middle = await new StressStart(StarvationWorkload.DelayMs).RunAsync(context);
        _ = await middle.RunAsync(context);
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    private static async Task<(double ItemsPerSecond, double BytesPerItem)> MeasureAsync(int items, Func<Task> work)
    {
        var bytes = GC.GetTotalAllocatedBytes(precise: true);
        var t0 = Stopwatch.GetTimestamp();
        await work();
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return (items / seconds, (GC.GetTotalAllocatedBytes(precise: true) - bytes) / (double)items);
    }

    private static async Task<ConcurrentFigures> MeasureConcurrentAsync(int runs, Func<Task<IEnumerable<double>>> work)
    {
        await using var heartbeat = Heartbeat.Start();
        var bytes = GC.GetTotalAllocatedBytes(precise: true);
        var t0 = Stopwatch.GetTimestamp();
        var latencies = await work();
        var wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - bytes;
        var lag = await heartbeat.StopAsync();
        return new ConcurrentFigures(wall, new Latencies(latencies), lag, allocated / (double)runs);
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using NUnit.Framework;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Dataflow.OpenTelemetry.Tests;

public sealed record Price(decimal Amount);

/// <summary>Takes 20 ms, so that the node span that resolves it visibly covers it.</summary>
public sealed class PriceDep : IDependency<Price>
{
    public async ValueTask<Price> ResolveAsync(NodeContext context)
    {
        await Task.Delay(20, context.CancellationToken);
        return new Price(9.5m);
    }
}

public sealed class OutOfStockDep : IDependency<int>
{
    public ValueTask<int> ResolveAsync(NodeContext context) => throw new InvalidOperationException("warehouse offline");
}

/// <summary>Needs the price (computed for it: a dependency span), then takes 30 ms.</summary>
public sealed record Order(int Id) : INode<Charge>
{
    [Dep(typeof(PriceDep))]
    public Price? Price { get; set; }

    public async ValueTask<Charge> RunAsync(NodeContext context)
    {
        await Task.Delay(30, context.CancellationToken);
        return new Charge(Id, Price!.Amount);
    }
}

/// <summary>Needs the price again (cached by the run: no span), and fails its first attempt, which is retried.</summary>
[Dataflow.Graphs.Resilience.Retry(3, BaseDelayMs = 1, Jitter = 0)]
public sealed record Charge(int Id, decimal Amount) : INode<Receipt>
{
    [Dep(typeof(PriceDep))]
    public Price? Price { get; set; }

    public ValueTask<Receipt> RunAsync(NodeContext context)
        => context.Attempt == 1 ? throw new TimeoutException("card network busy") : ValueTask.FromResult(new Receipt(Id, Price!.Amount));
}

public sealed record Receipt(int Id, decimal Amount) : INode;

public sealed record Reserve(int Id) : INode<Receipt>
{
    [Dep(typeof(OutOfStockDep))]
    public int Stock { get; set; }

    public ValueTask<Receipt> RunAsync(NodeContext context) => ValueTask.FromResult(new Receipt(Id, Stock));
}

/// <summary>Needs the price, then a person's approval.</summary>
public sealed record Approve(int Id) : INode<Receipt>
{
    [Dep(typeof(PriceDep))]
    public Price? Price { get; set; }

    [Gate("Charge it?")]
    public bool Approved { get; set; }

    public ValueTask<Receipt> RunAsync(NodeContext context) => ValueTask.FromResult(new Receipt(Id, Approved ? Price!.Amount : 0));
}

// Spans and metrics per OpenTelemetry's semantic conventions, through the SDK and its in-memory exporter.
// The meter is process-wide: no other test of this assembly may run graphs while the metrics are read.
[TestFixture]
[NonParallelizable]
public sealed class SemanticConventionTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Tracing_SpansNestRunNodeDependency_AndEachAttemptIsASpan()
    {
        var spans = new List<Activity>();
        GraphRun run;
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddDataflowInstrumentation().AddInMemoryExporter(spans).Build())
        {
            await using var engine = new GraphEngine();
            run = engine.Submit(Graph.Create<Order>(), new Order(1));
            await run.Completion.WaitAsync(Guard);
            await engine.DisposeAsync();
            tracing!.ForceFlush();
        }

        var ours = spans.Where(s => Equals(s.GetTagItem("dataflow.run_id"), run.Id)).ToList();
        var root = ours.Single(s => s.OperationName == "dataflow.run");
        var nodes = ours.Where(s => s.OperationName == "dataflow.node").OrderBy(s => s.StartTimeUtc).ToList();
        var dependencies = ours.Where(s => s.OperationName == "dataflow.dependency").ToList();
        Assert.That(run.State, Is.EqualTo(RunState.Done), run.Error);
        Assert.That(nodes.Select(n => ((string)n.GetTagItem("dataflow.node")!, (int)n.GetTagItem("dataflow.attempt")!)), Is.EqualTo(new[] { ("Order", 1), ("Charge", 1), ("Charge", 2) }));
        var order = nodes[0];
        var dependency = dependencies.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ours.Select(s => s.TraceId), Is.All.EqualTo(root.TraceId), "one trace per run");
            Assert.That(root.ParentSpanId, Is.EqualTo(default(ActivitySpanId)), "the run span is a root");
            Assert.That(nodes.Select(n => n.ParentSpanId), Is.All.EqualTo(root.SpanId), "run → node");
            Assert.That(dependency.ParentSpanId, Is.EqualTo(order.SpanId), "node → dependency");
            Assert.That(dependency.GetTagItem("dataflow.dependency"), Is.EqualTo("PriceDep"));
            Assert.That(dependency.GetTagItem("dataflow.node"), Is.EqualTo("Order"));
            Assert.That(dependency.Status, Is.EqualTo(ActivityStatusCode.Unset));
            Assert.That(dependency.Duration, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(15)));
            Assert.That(order.StartTimeUtc, Is.LessThanOrEqualTo(dependency.StartTimeUtc), "the node span covers its input resolution");
            Assert.That(order.StartTimeUtc + order.Duration, Is.GreaterThanOrEqualTo(dependency.StartTimeUtc + dependency.Duration));
            Assert.That(order.Duration, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(45)), "20 ms resolving the price, 30 ms running");
            Assert.That(nodes[1].GetTagItem("dataflow.outcome"), Is.EqualTo("failed"), "the first attempt of Charge failed");
            Assert.That(nodes[1].Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(nodes[1].GetTagItem("error.type"), Is.EqualTo(typeof(TimeoutException).FullName));
            Assert.That(nodes[2].GetTagItem("dataflow.outcome"), Is.EqualTo("ok"), "its retry succeeded");
            Assert.That(root.GetTagItem("dataflow.outcome"), Is.EqualTo("done"));
            Assert.That(root.Status, Is.EqualTo(ActivityStatusCode.Unset));
        }
    }

    [Test]
    public async Task Tracing_AFailingDependency_FailsItsSpanItsNodeAndItsRun()
    {
        var spans = new List<Activity>();
        GraphRun run;
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddDataflowInstrumentation().AddInMemoryExporter(spans).Build())
        {
            await using var engine = new GraphEngine();
            run = engine.Submit(Graph.Create<Reserve>(), new Reserve(2));
            await run.Completion.WaitAsync(Guard);
            await engine.DisposeAsync();
            tracing!.ForceFlush();
        }

        var ours = spans.Where(s => Equals(s.GetTagItem("dataflow.run_id"), run.Id)).ToList();
        var root = ours.Single(s => s.OperationName == "dataflow.run");
        var node = ours.Single(s => s.OperationName == "dataflow.node");
        var dependency = ours.Single(s => s.OperationName == "dataflow.dependency");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Failed));
            Assert.That(dependency.ParentSpanId, Is.EqualTo(node.SpanId));
            Assert.That(node.ParentSpanId, Is.EqualTo(root.SpanId));
            Assert.That(dependency.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(dependency.StatusDescription, Does.Contain("warehouse offline"));
            Assert.That(dependency.GetTagItem("error.type"), Is.EqualTo(typeof(InvalidOperationException).FullName));
            Assert.That(node.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(node.GetTagItem("dataflow.outcome"), Is.EqualTo("failed"));
            Assert.That(root.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(root.GetTagItem("error.type"), Is.EqualTo(typeof(DependencyException).FullName));
        }
    }

    [Test]
    public async Task Tracing_ANodeThatWaitsAtAGate_EndsItsInputSpanAsWaiting_AndRunsInANewOne()
    {
        var spans = new List<Activity>();
        GraphRun run;
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddDataflowInstrumentation().AddInMemoryExporter(spans).Build())
        {
            await using var engine = new GraphEngine();
            run = engine.Submit(Graph.Create<Approve>(), new Approve(3));
            var gate = (await run.WaitForGatesAsync().WaitAsync(Guard)).Single();
            Assert.That(engine.ResolveGate(gate.Id, true), Is.True);
            await run.Completion.WaitAsync(Guard);
            await engine.DisposeAsync();
            tracing!.ForceFlush();
        }

        var ours = spans.Where(s => Equals(s.GetTagItem("dataflow.run_id"), run.Id)).ToList();
        var root = ours.Single(s => s.OperationName == "dataflow.run");
        var nodes = ours.Where(s => s.OperationName == "dataflow.node").OrderBy(s => s.StartTimeUtc).ToList();
        var dependency = ours.Single(s => s.OperationName == "dataflow.dependency");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.GetResult<Receipt>().Amount, Is.EqualTo(9.5m));
            Assert.That(nodes.Select(n => n.GetTagItem("dataflow.outcome")), Is.EqualTo(new[] { "waiting", "ok" }));
            Assert.That(nodes.Select(n => n.ParentSpanId), Is.All.EqualTo(root.SpanId));
            Assert.That(dependency.ParentSpanId, Is.EqualTo(nodes[0].SpanId), "the dependency was computed before the run parked");
        }
    }

    [Test]
    public async Task Metrics_CountRunsNodesRetriesEventsAndDrops_AndTimeInSeconds()
    {
        const int Runs = 4;
        var metrics = new List<Metric>();
        var collected = new CollectingSink();
        var blocked = new BlockedSink();
        SinkRegistration lossy;
        using (var meters = Sdk.CreateMeterProviderBuilder().AddDataflowInstrumentation().AddInMemoryExporter(metrics).Build())
        {
            await using (var engine = new GraphEngine())
            {
                engine.Events.AddSink(collected, new SinkOptions { Name = "all" });

                // Takes one event and waits: with room for one more, the rest are dropped, the oldest first.
                lossy = engine.Events.AddSink(blocked, new SinkOptions { Name = "lossy", Lossy = true, Capacity = 1 });
                var graph = Graph.Create<Order>();
                var runs = Enumerable.Range(0, Runs).Select(i => engine.Submit(graph, new Order(i), new RunOptions { Policy = OutputPolicy.Verbose })).ToList();
                await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
                Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
                blocked.Release.SetResult();
                await engine.Events.FlushAsync().WaitAsync(Guard);
            }
        }

        // Disposing the provider exported once (cumulative totals).
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Sum(metrics, "dataflow.runs.started"), Is.EqualTo(Runs));
            Assert.That(Sum(metrics, "dataflow.runs.completed"), Is.EqualTo(Runs));
            Assert.That(Sum(metrics, "dataflow.node.executions"), Is.EqualTo(Runs * 3), "Order, and Charge twice, per run");
            Assert.That(Sum(metrics, "dataflow.node.executions", ("dataflow.node", "Charge"), ("dataflow.outcome", "failed")), Is.EqualTo(Runs));
            Assert.That(Sum(metrics, "dataflow.node.executions", ("dataflow.node", "Charge"), ("dataflow.outcome", "ok")), Is.EqualTo(Runs));
            Assert.That(Sum(metrics, "dataflow.node.retries", ("dataflow.node", "Charge")), Is.EqualTo(Runs));
            Assert.That(Sum(metrics, "dataflow.events.emitted"), Is.EqualTo(collected.Count), "every event the lossless sink took");
            Assert.That(lossy.Dropped, Is.GreaterThan(0));
            Assert.That(Sum(metrics, "dataflow.events.dropped", ("dataflow.sink", "lossy")), Is.EqualTo(lossy.Dropped));

            Assert.That(Single(metrics, "dataflow.run.duration").Unit, Is.EqualTo("s"));
            Assert.That(Single(metrics, "dataflow.node.duration").Unit, Is.EqualTo("s"));
            Assert.That(Histogram(metrics, "dataflow.run.duration").Count, Is.EqualTo(Runs));
            Assert.That(Histogram(metrics, "dataflow.node.duration").Count, Is.EqualTo(Runs * 3));

            // Order runs 30 ms: in seconds, that is at least 0.03 and far below 30 (which milliseconds would pass).
            var order = Histogram(metrics, "dataflow.node.duration", ("dataflow.node", "Order"));
            Assert.That(order.Sum / order.Count, Is.InRange(0.025, 5));
            var runDuration = Histogram(metrics, "dataflow.run.duration");
            Assert.That(runDuration.Sum / runDuration.Count, Is.InRange(0.045, 10), "20 ms price, 30 ms order, a retry");
            var nodeBounds = Histogram(metrics, "dataflow.node.duration").Bounds;
            Assert.That(nodeBounds, Is.Not.Empty.And.Contain(1.0).And.Contain(60.0), "the bucket advice, in seconds");
            Assert.That(nodeBounds.FirstOrDefault(), Is.EqualTo(0.0001));
            Assert.That(Histogram(metrics, "dataflow.run.duration").Bounds, Does.Contain(0.001).And.Contain(3600.0));
        }
    }

    private static Metric Single(List<Metric> metrics, string name) => metrics.First(m => m.Name == name);

    private static long Sum(List<Metric> metrics, string name, params (string Key, string Value)[] tags)
    {
        long total = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (Has(point, tags))
                {
                    total += point.GetSumLong();
                }
            }
        }

        return total;
    }

    private static (long Count, double Sum, List<double> Bounds) Histogram(List<Metric> metrics, string name, params (string Key, string Value)[] tags)
    {
        long count = 0;
        double sum = 0;
        var bounds = new List<double>();
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (!Has(point, tags))
                {
                    continue;
                }

                count += point.GetHistogramCount();
                sum += point.GetHistogramSum();
                if (bounds.Count == 0)
                {
                    foreach (var bucket in point.GetHistogramBuckets())
                    {
                        if (!double.IsPositiveInfinity(bucket.ExplicitBound))
                        {
                            bounds.Add(bucket.ExplicitBound);
                        }
                    }
                }
            }
        }

        return (count, sum, bounds);
    }

    private static bool Has(in MetricPoint point, (string Key, string Value)[] tags)
    {
        foreach (var (key, value) in tags)
        {
            var found = false;
            foreach (var tag in point.Tags)
            {
                if (tag.Key == key && Equals(tag.Value, value))
                {
                    found = true;
                }
            }

            if (!found)
            {
                return false;
            }
        }

        return true;
    }

    private sealed class CollectingSink : IEventSink
    {
        private readonly ConcurrentQueue<GraphEvent> _events = new();

        public int Count => _events.Count;

        public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
        {
            _events.Enqueue(graphEvent);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class BlockedSink : IEventSink
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken) => await Release.Task.WaitAsync(cancellationToken);
    }
}

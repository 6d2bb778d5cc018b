using System.Diagnostics;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using NUnit.Framework;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Dataflow.OpenTelemetry.Tests;

public sealed record First(int Id) : INode<Second>
{
    public ValueTask<Second> RunAsync(NodeContext context) => ValueTask.FromResult(new Second(Id));
}

public sealed record Second(int Id) : INode<Third>
{
    public async ValueTask<Third> RunAsync(NodeContext context)
    {
        await Task.Yield();
        return new Third(Id);
    }
}

public sealed record Third(int Id) : INode;

// The meter is process-wide: no other test of this assembly may run graphs while the metrics are read.
[TestFixture]
[NonParallelizable]
public sealed class InstrumentationTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Tracing_RunSpanParentsItsNodeSpans()
    {
        var spans = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddDataflowInstrumentation().AddInMemoryExporter(spans).Build())
        {
            await using var engine = new GraphEngine();
            var run = engine.Submit(Graph.Create<First>(), new First(1));
            await run.Completion.WaitAsync(Guard);
            await engine.DisposeAsync();
            tracing!.ForceFlush();

            var ours = spans.Where(s => Equals(s.GetTagItem("dataflow.run_id"), run.Id)).ToList();
            var root = ours.Single(s => s.OperationName == "dataflow.run");
            var nodes = ours.Where(s => s.OperationName == "dataflow.node").ToList();
            using (Assert.EnterMultipleScope())
            {
                Assert.That(root.Source.Name, Is.EqualTo("Dataflow"));
                Assert.That(root.GetTagItem("dataflow.graph"), Is.EqualTo("First"));
                Assert.That(root.GetTagItem("dataflow.outcome"), Is.EqualTo("done"));
                Assert.That(nodes.Select(n => n.GetTagItem("dataflow.node")), Is.EqualTo(new[] { "First", "Second" }));
                Assert.That(nodes.Select(n => n.ParentSpanId), Is.All.EqualTo(root.SpanId), "node spans are children of the run span");
                Assert.That(nodes.Select(n => n.TraceId), Is.All.EqualTo(root.TraceId));
                Assert.That(nodes.Select(n => n.GetTagItem("dataflow.outcome")), Is.All.EqualTo("ok"));
            }
        }
    }

    [Test]
    public async Task Metrics_CountRunsNodesAndEvents()
    {
        var metrics = new List<Metric>();
        const int Runs = 5;
        using (var meters = Sdk.CreateMeterProviderBuilder().AddDataflowInstrumentation().AddInMemoryExporter(metrics).Build())
        {
            await using (var engine = new GraphEngine())
            {
                engine.Events.AddSink(new NullSink(), new SinkOptions { Policy = OutputPolicy.Normal });
                var graph = Graph.Create<First>();
                var runs = Enumerable.Range(0, Runs).Select(i => engine.Submit(graph, new First(i))).ToList();
                await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
                await engine.Events.FlushAsync().WaitAsync(Guard);
            }
        }

        // Disposing the provider exported once (cumulative totals); a ForceFlush before it would export them twice.

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Sum(metrics, "dataflow.runs.started"), Is.EqualTo(Runs));
            Assert.That(Sum(metrics, "dataflow.runs.completed"), Is.EqualTo(Runs));
            Assert.That(HistogramCount(metrics, "dataflow.node.duration"), Is.EqualTo(Runs * 2), "First and Second per run; Third is terminal");
            Assert.That(HistogramCount(metrics, "dataflow.run.duration"), Is.EqualTo(Runs));
            Assert.That(Sum(metrics, "dataflow.events.emitted"), Is.EqualTo(Runs * 2), "start and complete per run under the Normal policy");
        }
    }

    private static long Sum(List<Metric> metrics, string name)
    {
        long total = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                total += point.GetSumLong();
            }
        }

        return total;
    }

    private static long HistogramCount(List<Metric> metrics, string name)
    {
        long total = 0;
        foreach (var metric in metrics.Where(m => m.Name == name))
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                total += point.GetHistogramCount();
            }
        }

        return total;
    }

    private sealed class NullSink : IEventSink
    {
        public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}

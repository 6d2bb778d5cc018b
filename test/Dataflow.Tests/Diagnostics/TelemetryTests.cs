using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dataflow.Diagnostics;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Diagnostics;

public sealed record TracedStart(bool Fail) : INode<TracedEnd>
{
    public async ValueTask<TracedEnd> RunAsync(NodeContext context)
    {
        await Task.Yield();
        return Fail ? throw new InvalidOperationException("traced failure") : new TracedEnd();
    }
}

public sealed record TracedEnd : INode;

[TestFixture]
[NonParallelizable]
public sealed class TelemetryTests
{
    [Test]
    public async Task Runs_ProduceRunAndNodeSpans_WithOutcomeTags()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = ListenToSpans(stopped);

        await using (var engine = new GraphEngine())
        {
            var graph = Graph.Create<TracedStart>();
            var ok = engine.Submit(graph, new TracedStart(false));
            var bad = engine.Submit(graph, new TracedStart(true));
            await Task.WhenAll(ok.Completion, bad.Completion).WaitAsync(TimeSpan.FromSeconds(30));
        }

        var ours = stopped.Where(a => (string?)a.GetTagItem("dataflow.graph") == "TracedStart" || (string?)a.GetTagItem("dataflow.node") == "TracedStart").ToList();
        var runs = ours.Where(a => a.OperationName == "dataflow.run").ToList();
        var nodes = ours.Where(a => a.OperationName == "dataflow.node").ToList();

        Assert.That(runs.Select(a => a.GetTagItem("dataflow.outcome")), Is.EquivalentTo(new[] { "done", "failed" }));
        Assert.That(nodes.Select(a => a.GetTagItem("dataflow.outcome")), Is.EquivalentTo(new[] { "ok", "failed" }));
        foreach (var node in nodes)
        {
            var parent = runs.Single(r => Equals(r.GetTagItem("dataflow.run_id"), node.GetTagItem("dataflow.run_id")));
            Assert.That(node.ParentSpanId, Is.EqualTo(parent.SpanId), "a node span is a child of its run's span");
        }

        Assert.That(runs.Single(r => Equals(r.GetTagItem("dataflow.outcome"), "failed")).Status, Is.EqualTo(ActivityStatusCode.Error));
    }

    [Test]
    public async Task ChildRuns_AreTracedUnderTheirParentsRunSpan()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = ListenToSpans(stopped);

        string parentId;
        await using (var engine = new GraphEngine())
        {
            var run = engine.Submit(Graph.Create<Dataflow.Tests.FanOut.Document>(), new Dataflow.Tests.FanOut.Document("traced"));
            await run.Completion.WaitAsync(TimeSpan.FromSeconds(30));
            parentId = run.Id;
        }

        var runs = stopped.Where(a => a.OperationName == "dataflow.run").ToList();
        var parent = runs.Single(a => Equals(a.GetTagItem("dataflow.run_id"), parentId));
        var child = runs.Single(a => Equals(a.GetTagItem("dataflow.run_id"), $"{parentId}/1"));
        Assert.That(child.ParentSpanId, Is.EqualTo(parent.SpanId));
        Assert.That(child.TraceId, Is.EqualTo(parent.TraceId));
        Assert.That(child.GetTagItem("dataflow.parent_run_id"), Is.EqualTo(parentId));
        Assert.That(child.GetTagItem("dataflow.graph"), Is.EqualTo("Ocr"));
    }

    /// <summary>Starts listening to the library's spans, keeping each one as it stops.</summary>
    private static ActivityListener ListenToSpans(ConcurrentQueue<Activity> stopped)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == DataflowTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    [Test]
    public async Task Runs_AreCountedAndTimed_ByTheMeter()
    {
        var measurements = new ConcurrentQueue<(string Name, double Value, string? Outcome)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == DataflowTelemetry.Name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => measurements.Enqueue((instrument.Name, value, Outcome(tags))));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => measurements.Enqueue((instrument.Name, value, Outcome(tags))));
        listener.Start();

        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(new Dataflow.Tests.Events.CollectingSink());
            var graph = Graph.Create<TracedStart>();
            var runs = Enumerable.Range(0, 4).Select(i => engine.Submit(graph, new TracedStart(i == 0))).ToList();
            await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(TimeSpan.FromSeconds(30));
        }

        var names = measurements.Select(m => m.Name).ToHashSet();
        Assert.That(names, Is.SupersetOf(new[] { "dataflow.runs.started", "dataflow.runs.completed", "dataflow.runs.failed", "dataflow.run.duration", "dataflow.node.duration", "dataflow.events.emitted", "dataflow.sink.queue_depth" }));
        Assert.That(measurements.Where(m => m.Name == "dataflow.runs.started").Sum(m => m.Value), Is.GreaterThanOrEqualTo(4));
        Assert.That(measurements.Count(m => m.Name == "dataflow.runs.completed" && m.Outcome == "failed"), Is.GreaterThanOrEqualTo(1));
        Assert.That(measurements.Count(m => m.Name == "dataflow.runs.completed" && m.Outcome == "done"), Is.GreaterThanOrEqualTo(3));
        Assert.That(measurements.Where(m => m.Name == "dataflow.node.duration").Select(m => m.Value), Has.All.GreaterThanOrEqualTo(0));
    }

    private static string? Outcome(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "dataflow.outcome")
            {
                return tag.Value as string;
            }
        }

        return null;
    }
}

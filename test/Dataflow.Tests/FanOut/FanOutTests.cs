using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Tests.Events;
using NUnit.Framework;

namespace Dataflow.Tests.FanOut;

[TestFixture]
public sealed class FanOutTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Join_ReceivesResultsInItemOrder_WhileChildrenFinishInAnyOrder()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 100 });
        var probe = new FanOutProbe();
        var run = await engine.SubmitAsync(Graph.Create<Order>(), new Order(8, probe, MaxInFlight: 8, ReverseDelays: true));
        await run.Completion.WaitAsync(Guard);

        var total = run.GetResult<Invoiced>().Total;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(total.Indexes, Is.EqualTo(Enumerable.Range(0, 8)));
            Assert.That(total.Failed, Is.Empty);
            Assert.That(total.Cents, Is.EqualTo(Enumerable.Range(0, 8).Sum(i => i * 10)));
            Assert.That(total.ChildIds, Is.EqualTo(Enumerable.Range(1, 8).Select(n => $"{run.Id}/{n}")));

            // The later items had the shorter delays, so the children did not end in item order.
            Assert.That(probe.ChildRunIds.Count, Is.EqualTo(8));
            Assert.That(run.Trace.Select(n => n.GetType()), Is.EqualTo(new[] { typeof(Order), typeof(Total), typeof(Invoiced) }));
        }
    }

    [Test]
    public async Task Children_AreRunsWithIdsThatShowTheirParent_AndAppearInItsSummary()
    {
        var sink = new CollectingSink();
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 100 });
        engine.Events.AddSink(sink, new SinkOptions { Policy = OutputPolicy.Verbose });
        var run = await engine.SubmitAsync(Graph.Create<Order>(), new Order(3, new FanOutProbe()), new RunOptions { Policy = OutputPolicy.Verbose });
        await run.Completion.WaitAsync(Guard);
        await engine.Events.FlushAsync();

        var group = run.Children.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(group.Node, Is.EqualTo("Order"));
            Assert.That(group.ChildStart, Is.EqualTo("PriceLine"));
            Assert.That(group.IsSubgraph, Is.False);
            Assert.That((group.Started, group.Done, group.Failed, group.Cancelled, group.Running), Is.EqualTo((3, 3, 0, 0, 0)));
            Assert.That(group.ChildIds, Is.EqualTo(new[] { $"{run.Id}/1", $"{run.Id}/2", $"{run.Id}/3" }));
            Assert.That(run.ParentId, Is.Null);
            foreach (var id in group.ChildIds)
            {
                var child = engine.Get(id)!;
                Assert.That(child.ParentId, Is.EqualTo(run.Id));
                Assert.That(child.State, Is.EqualTo(RunState.Done));
                Assert.That(child.NodeTimings.Select(t => t.Node), Is.EqualTo(new[] { "PriceLine" }));
                Assert.That(child.Policy, Is.EqualTo(OutputPolicy.Verbose));
                var start = sink.Events.Single(e => e.RunId == id && e.Kind == EventKind.Start);
                Assert.That(start.Metadata["parent_run_id"], Is.EqualTo(run.Id));
                Assert.That(start.Node, Is.EqualTo("PriceLine"));
                Assert.That(sink.Events.Count(e => e.RunId == id && e.Kind == EventKind.Complete), Is.EqualTo(1));
            }

            var parentEvents = sink.Events.Where(e => e.RunId == run.Id).Select(e => e.Content).ToList();
            Assert.That(parentEvents, Does.Contain($"{run.Id} Order -> PriceLine (fan-out)"));
            Assert.That(parentEvents, Does.Contain($"{run.Id} Order -> Total (join: 3 done, 0 failed of 3)"));
            Assert.That(sink.Events.Where(e => e.RunId == run.Id).Select(e => e.Sequence), Is.Ordered.Ascending);
        }
    }

    [Test]
    public async Task InFlightBound_HoldsForOneFanOut()
    {
        await using var engine = new GraphEngine();
        var probe = new FanOutProbe();
        var run = await engine.SubmitAsync(Graph.Create<Order>(), new Order(40, probe, MaxInFlight: 3, ReverseDelays: true));
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Done));
        Assert.That(probe.PeakInFlight, Is.InRange(1, 3));
    }

    [Test]
    public async Task FailFast_CancelsSiblings_AndSkipsTheJoin()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 100 });
        var probe = new FanOutProbe();

        // Item 3 fails once items 0-2 hang in flight; items after 3 must never start.
        var order = new Order(10, probe, MaxInFlight: 4, Modes: i => i == 3 ? LineMode.Throw : LineMode.Hang);
        var run = await engine.SubmitAsync(Graph.Create<Order>(), order);
        await run.Completion.WaitAsync(Guard);

        var group = run.Children.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Failed));
            var error = (ChildRunFailedException)run.Exception!;
            Assert.That(error.ChildRunId, Is.EqualTo($"{run.Id}/4"));
            Assert.That(error.ChildState, Is.EqualTo(RunState.Failed));
            Assert.That(error.InnerException, Is.TypeOf<InvalidOperationException>().With.Message.EqualTo("line 3 has no price"));
            Assert.That(error.Message, Does.Contain("FanOutPolicy.Settle"));
            Assert.That(probe.Joins, Is.Zero);
            Assert.That((group.Started, group.Failed, group.Cancelled), Is.EqualTo((4, 1, 3)));
            foreach (var id in group.ChildIds.Where(id => id != error.ChildRunId))
            {
                Assert.That(engine.Get(id)!.State, Is.EqualTo(RunState.Cancelled), id);
            }

            Assert.That(run.Trace.Select(n => n.GetType()), Is.EqualTo(new[] { typeof(Order) }));
        }
    }

    [Test]
    public async Task FailFast_WithRecoveryRoute_TakesIt()
    {
        await using var engine = new GraphEngine();
        var probe = new FanOutProbe();
        var run = await engine.SubmitAsync(Graph.Create<RescuedOrder>(), new RescuedOrder(4, probe));
        await run.Completion.WaitAsync(Guard);

        var rescued = run.GetResult<OrderRescued>();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rescued.Failure.NodeName, Is.EqualTo("RescuedOrder"));
            Assert.That(rescued.Failure.Error, Is.TypeOf<ChildRunFailedException>());
            Assert.That(probe.Joins, Is.Zero);
            Assert.That(run.Children.Single().Failed + run.Children.Single().Cancelled, Is.EqualTo(run.Children.Single().Started));
        }
    }

    [Test]
    public async Task Settle_HandsEveryFailureToTheJoin()
    {
        await using var engine = new GraphEngine();
        var probe = new FanOutProbe();
        var order = new Order(7, probe, MaxInFlight: 3, Policy: FanOutPolicy.Settle, Modes: i => i is 1 or 4 or 6 ? LineMode.Throw : LineMode.Succeed);
        var run = await engine.SubmitAsync(Graph.Create<Order>(), order);
        await run.Completion.WaitAsync(Guard);

        var total = run.GetResult<Invoiced>().Total;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(total.Failed, Is.EqualTo(new[] { 1, 4, 6 }));
            Assert.That(total.Indexes, Is.EqualTo(new[] { 0, -1, 2, 3, -1, 5, -1 }));
            Assert.That(total.Cents, Is.EqualTo((0 + 2 + 3 + 5) * 10));
            Assert.That(probe.Joins, Is.EqualTo(1));
            Assert.That(run.Children.Single().Failed, Is.EqualTo(3));
        }
    }

    [Test]
    public async Task NoItems_CallsTheJoinAtOnce()
    {
        await using var engine = new GraphEngine();
        var run = await engine.SubmitAsync(Graph.Create<Order>(), new Order(0, new FanOutProbe()));
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.GetResult<Invoiced>().Total.Indexes, Is.Empty);
        Assert.That(run.Children.Single().Started, Is.Zero);
    }

    [Test]
    public async Task CancelParent_WithChildrenInFlight_EndsEveryRunOnce()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 100 });
        var probe = new FanOutProbe(signalAt: 3);
        var run = await engine.SubmitAsync(Graph.Create<Order>(), new Order(20, probe, MaxInFlight: 3, Modes: _ => LineMode.Hang));
        await probe.Enough.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Waiting));
        Assert.That(run.Cancel(), Is.True);
        await run.Completion.WaitAsync(Guard);

        var children = run.Children.Single().ChildIds.Select(id => engine.Get(id)!).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
            Assert.That(children, Has.Count.EqualTo(3));
            foreach (var child in children)
            {
                Assert.That(child.State, Is.EqualTo(RunState.Cancelled), child.Id);
                Assert.That(child.EndedAt, Is.Not.Null);
                Assert.That(child.Completion.IsCompleted, Is.True);
            }

            Assert.That(engine.Active(), Is.Empty);
        }
    }

    [Test]
    public async Task Dispose_WithChildrenInFlight_EndsEveryRunOnce()
    {
        var sink = new CollectingSink();
        var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 1000, CancelRunsOnDispose = false });
        engine.Events.AddSink(sink, new SinkOptions { Policy = OutputPolicy.Normal });
        var probe = new FanOutProbe(signalAt: 6);
        var graph = Graph.Create<Order>();
        var runs = new List<GraphRun>();
        for (var i = 0; i < 3; i++)
        {
            runs.Add(await engine.SubmitAsync(graph, new Order(10, probe, MaxInFlight: 2, Modes: _ => LineMode.Hang)));
        }

        await probe.Enough.WaitAsync(Guard);
        await engine.DisposeAsync().AsTask().WaitAsync(Guard);

        var all = runs.Concat(runs.SelectMany(r => r.Children.Single().ChildIds).Select(id => engine.Get(id)!)).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(all, Has.Count.EqualTo(3 + 6));
            foreach (var run in all)
            {
                Assert.That(run.State, Is.EqualTo(RunState.Cancelled), run.Id);
                Assert.That(run.Completion.IsCompleted, Is.True, run.Id);
                var finals = sink.Events.Count(e => e.RunId == run.Id && e.Kind is EventKind.Complete or EventKind.Fail or EventKind.Cancel);
                Assert.That(finals, Is.EqualTo(1), run.Id);
            }
        }
    }

    [Test]
    public async Task ParentDeadline_CancelsChildren_AndFailsTheParent()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 100 });
        var run = await engine.SubmitAsync(Graph.Create<Order>(), new Order(5, new FanOutProbe(), Modes: _ => LineMode.Hang), new RunOptions { Deadline = TimeSpan.FromMilliseconds(200) });
        await run.Completion.WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Failed));
            Assert.That(run.Exception, Is.TypeOf<Dataflow.Engine.Resilience.RunDeadlineExceededException>());
            Assert.That(run.Children.Single().ChildIds.Select(id => engine.Get(id)!.State), Is.All.EqualTo(RunState.Cancelled));
        }
    }

    [Test]
    public async Task ABadChildSequence_FailsTheParent_NamingTheNode()
    {
        await using var engine = new GraphEngine();
        var run = await engine.SubmitAsync(Graph.Create<Order>(), new Order(5, new FanOutProbe(), Modes: i => i == 2 ? throw new FormatException("item 2 is garbage") : LineMode.Succeed));
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(run.Exception, Is.TypeOf<FormatException>());
        Assert.That(run.Children.Single().Started, Is.EqualTo(2));
    }

    [Test]
    public void MaxInFlight_BelowOne_IsRefusedClearly()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _ = new FanOut<PriceLine, LinePrice, Total>([], _ => null!) { MaxInFlight = 0 });
        Assert.That(error!.ParamName, Is.EqualTo("MaxInFlight"));
    }
}

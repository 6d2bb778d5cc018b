using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Sqlite.Tests;

public sealed record StressStart(int DelayMs = 10) : INode<Middle>
{
    public async ValueTask<Middle> RunAsync(NodeContext context)
    {
        await Task.Delay(DelayMs, context.CancellationToken);
        return new Middle(DelayMs);
    }
}

public sealed record Middle(int DelayMs) : INode<End>
{
    public async ValueTask<End> RunAsync(NodeContext context)
    {
        await Task.Delay(DelayMs, context.CancellationToken);
        return new End(context.RunId);
    }
}

public sealed record End(string RunId) : INode;

public sealed class GraphEventTests : StoreTestBase
{
    [Test]
    public async Task GraphEvents_PersistThroughSinkIntoStore_AndAreSearchable_AndVisibleToNextSession()
    {
        var store = Open();
        var runIds = new List<string>();
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(new StoreEventSink(store), new SinkOptions { Name = "store" });
            for (var i = 0; i < 3; i++)
            {
                var run = engine.Submit(Graph.Create<StressStart>(), new StressStart(5), new RunOptions { Policy = OutputPolicy.Normal });
                runIds.Add(run.Id);
                await run.Completion.WaitAsync(Guard);
            }
        }

        await store.FlushAsync().WaitAsync(Guard);
        var entries = store.SessionEntries();
        var events = entries.Select(e => System.Text.Json.JsonDocument.Parse(e.MetadataJson!).RootElement.GetProperty("event").GetString()).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(events, Has.Exactly(3).EqualTo("start"));
            Assert.That(events, Has.Exactly(3).EqualTo("complete"));
            Assert.That(entries.Select(e => e.Content), Has.All.Not.Empty);
            Assert.That(entries.Select(e => (e.Mode, e.Channel, e.Direction)), Has.All.EqualTo(("GRAPH", "graph", "output")));
            Assert.That(entries[0].MetadataJson, Does.Contain("\"type\":\"lifecycle\"").And.Contain($"\"run_id\":\"{runIds[0]}\""));
            Assert.That(store.Search("started").Select(h => h.Content), Is.EquivalentTo(runIds.Select(id => $"{id} started: StressStart {{ DelayMs = 5 }}")));
        }

        var second = Open();
        Assert.That(second.Recent().Select(e => e.Content), Does.Contain($"{runIds[0]} started: StressStart {{ DelayMs = 5 }}"));
        Assert.That(second.Recent().Select(e => e.SessionId), Has.All.EqualTo(store.SessionId));
    }

    [Test]
    public async Task FifteenSuccessfulRuns_AtQuiet_LeaveNoEntries()
    {
        var store = Open();
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(new StoreEventSink(store));
            var runs = Enumerable.Range(0, 15)
                .Select(_ => engine.Submit(Graph.Create<StressStart>(), new StressStart(10), new RunOptions { Policy = OutputPolicy.Quiet }))
                .ToList();
            await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
            Assert.That(runs.Select(r => r.State), Has.All.EqualTo(RunState.Done));
        }

        await store.FlushAsync().WaitAsync(Guard);
        Assert.That(store.SessionEntries(), Is.Empty);
        Assert.That(Scalar("SELECT count(*) FROM entries"), Is.Zero);
    }
}

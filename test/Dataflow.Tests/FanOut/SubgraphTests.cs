using Dataflow.Engine;
using Dataflow.Graphs;
using NUnit.Framework;

namespace Dataflow.Tests.FanOut;

[TestFixture]
public sealed class SubgraphTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Result_ContinuesTheParent_AndTheChildRunsInTheOtherGraph()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 100 });
        var ocr = Graph.Create<Ocr>(new GraphOptions { MaxDegreeOfParallelism = 1 });
        var graph = Graph.Create<Document>(new GraphOptions().Subgraph(ocr));
        var run = await engine.SubmitAsync(graph, new Document("scan"));
        await run.Completion.WaitAsync(Guard);

        var group = run.Children.Single();
        var child = engine.Get(group.ChildIds.Single())!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.GetResult<Stored>(), Is.EqualTo(new Stored(4, "SCAN")));
            Assert.That(group.IsSubgraph, Is.True);
            Assert.That(group.ChildStart, Is.EqualTo("Ocr"));
            Assert.That(child.Id, Is.EqualTo($"{run.Id}/1"));
            Assert.That(child.ParentId, Is.EqualTo(run.Id));
            Assert.That(child.Graph, Is.SameAs(ocr));
            Assert.That(child.GetResult<Recognized>().Text, Is.EqualTo("SCAN"));
            Assert.That(graph.Subgraphs[typeof(Document)], Is.SameAs(ocr));
        }
    }

    [Test]
    public async Task Failure_FailsTheParent_WithTheChildsError()
    {
        await using var engine = new GraphEngine();
        var run = await engine.SubmitAsync(Graph.Create<Document>(), new Document("scan", LineMode.Throw));
        await run.Completion.WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Failed));
            var error = (ChildRunFailedException)run.Exception!;
            Assert.That(error.ChildRunId, Is.EqualTo($"{run.Id}/1"));
            Assert.That(error.InnerException!.Message, Is.EqualTo("unreadable scan"));
            Assert.That(run.Children.Single().Failed, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task Cancellation_OfTheParent_CancelsTheChild()
    {
        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 100 });
        var probe = new FanOutProbe(signalAt: 1);
        var run = await engine.SubmitAsync(Graph.Create<Document>(), new Document("scan", LineMode.Hang, probe));
        await probe.Enough.WaitAsync(Guard);
        Assert.That(engine.Cancel(run.Id), Is.True);
        await run.Completion.WaitAsync(Guard);

        var child = engine.Get($"{run.Id}/1")!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.State, Is.EqualTo(RunState.Cancelled));
            Assert.That(child.State, Is.EqualTo(RunState.Cancelled));
            Assert.That(child.EndedAt, Is.Not.Null);
        }
    }

    [Test]
    public async Task Cancellation_OfTheChild_FailsTheParent()
    {
        await using var engine = new GraphEngine();
        var probe = new FanOutProbe(signalAt: 1);
        var run = await engine.SubmitAsync(Graph.Create<Document>(), new Document("scan", LineMode.Hang, probe));
        await probe.Enough.WaitAsync(Guard);
        Assert.That(engine.Cancel($"{run.Id}/1"), Is.True);
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.State, Is.EqualTo(RunState.Failed));
        Assert.That(((ChildRunFailedException)run.Exception!).ChildState, Is.EqualTo(RunState.Cancelled));
    }

    [Test]
    public void Mermaid_DrawsTheOtherGraphAsASubgraph()
    {
        var mermaid = Graph.Create<Document>().ToMermaid();
        Assert.That(mermaid, Is.EqualTo(
            "graph TD\n" +
            "    Document(\"Document\")\n" +
            "    Stored([\"Stored\"])\n" +
            "    subgraph Document__Ocr[\"Ocr\"]\n" +
            "        Document__Ocr_Ocr(\"Ocr\")\n" +
            "        Document__Ocr_Recognized([\"Recognized\"])\n" +
            "        Document__Ocr_Ocr --> Document__Ocr_Recognized\n" +
            "    end\n" +
            "    Document -- runs --> Document__Ocr\n" +
            "    Document__Ocr -- result --> Stored\n" +
            "    classDef terminal stroke-width:3px\n" +
            "    class Stored,Document__Ocr_Recognized terminal\n"));
    }
}

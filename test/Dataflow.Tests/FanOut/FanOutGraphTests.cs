using Dataflow.Graphs;
using NUnit.Framework;

namespace Dataflow.Tests.FanOut;

[TestFixture]
public sealed class FanOutGraphTests
{
    [Test]
    public void Discovery_AddsTheChildrenAndTheJoin()
    {
        var graph = Graph.Create<Order>();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(graph.Nodes, Is.EquivalentTo(new[] { typeof(Order), typeof(PriceLine), typeof(LinePrice), typeof(Total), typeof(Invoiced) }));
            Assert.That(graph.Successors(typeof(Order)), Is.EqualTo(new[] { typeof(Total) }));
            Assert.That(graph.FanOutEdges, Is.EqualTo(new[] { new GraphEdge(typeof(Order), typeof(PriceLine)) }));
            Assert.That(graph.TerminalNodes, Is.EquivalentTo(new[] { typeof(LinePrice), typeof(Invoiced) }));
        }
    }

    [Test]
    public void Mermaid_LabelsTheFanOutAndTheJoin()
    {
        var mermaid = Graph.Create<Order>().ToMermaid();
        Assert.That(mermaid, Does.Contain("    Order == fan-out ==> PriceLine\n")
            .And.Contain("    Order -- join --> Total\n")
            .And.Contain("    PriceLine --> LinePrice\n")
            .And.Contain("    Total --> Invoiced\n")
            .And.Not.Contain("Order --> "));
    }

    [Test]
    public void Nested_AndCyclic_FanOutsAreDiscovered()
    {
        Assert.That(Graph.Create<Batch>().FanOutEdges, Is.EquivalentTo(new[] { new GraphEdge(typeof(Batch), typeof(Order)), new GraphEdge(typeof(Order), typeof(PriceLine)) }));
        var rounds = Graph.Create<Round>();
        Assert.That(rounds.Successors(typeof(RoundJoin)), Is.EquivalentTo(new[] { typeof(Round), typeof(RoundsDone) }));
    }

    [Test]
    public void AResultTypeTheChildrenDoNotEndAt_IsRefused_NamingTheNode()
    {
        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create<WrongResult>());
        Assert.That(error!.Errors, Has.Some.EqualTo("Node 'WrongResult' fans out to 'PriceLine', whose runs can end at 'LinePrice', which is not a 'Recognized'; declare a result type that every terminal node of the children is."));
    }

    [Test]
    public void AnAbstractChildStart_IsRefused()
    {
        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create<AbstractChildren>());
        Assert.That(error!.Errors, Has.Some.Contains("Node 'AbstractChildren' fans out to 'AbstractLine', which is abstract"));
    }

    [Test]
    public void ADurableGraph_WhoseJoinNeedsAFunction_OrWhoseChildrenCannotBeStored_IsRefused_SayingWhatToDo()
    {
        var fanOut = Assert.Throws<InvalidGraphException>(() => Graph.Create<Order>(new GraphOptions { Durable = true }));
        var subgraph = Assert.Throws<InvalidGraphException>(() => Graph.Create<Document>(new GraphOptions { Durable = true }));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(fanOut!.Errors, Has.One.EqualTo("Node 'Order' fans out to 'PriceLine' in a durable graph, so its join must be made without a function after a crash: give 'Total' a public constructor that takes a FanOutResults<LinePrice>, and return new FanOut<PriceLine, LinePrice, Total>(children)."));
            Assert.That(fanOut.Errors, Has.One.StartsWith("Node 'PriceLine' cannot be checkpointed (GraphOptions.Durable): its property 'Probe.Enough' is a Task"), "a child start node's members are checked");
            Assert.That(subgraph!.Errors, Has.One.EqualTo("Node 'Document' runs the subgraph that starts at 'Ocr' in a durable graph, so its next node must be made without a function after a crash: give 'Stored' a public constructor that takes a 'Recognized', and return new Subgraph<Ocr, Recognized, Stored>(start)."));
            Assert.That(subgraph.Errors, Has.Some.StartsWith("In the subgraph that starts at 'Ocr' (run by node 'Document'): Node 'Ocr' cannot be checkpointed"), "a durable graph's subgraph is made durable, and checked");
        }
    }

    [Test]
    public void ASubgraphWhoseDurabilityDiffersFromItsParents_IsRefused()
    {
        var durableChild = new GraphOptions().Subgraph(Graph.Create<PlainOcr>(new GraphOptions { Durable = true }));
        var plainChild = new GraphOptions { Durable = true }.Subgraph(Graph.Create<PlainOcr>());
        var notDurableParent = Assert.Throws<InvalidGraphException>(() => Graph.Create<Scanned>(durableChild));
        var durableParent = Assert.Throws<InvalidGraphException>(() => Graph.Create<Scanned>(plainChild));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(notDurableParent!.Errors, Is.EqualTo(new[] { "Node 'Scanned' runs the subgraph that starts at 'PlainOcr', whose registered graph is durable, but this graph is not: a subgraph run would be checkpointed without its parent; make both graphs durable or neither." }));
            Assert.That(durableParent!.Errors, Has.Some.EqualTo("Node 'Scanned' runs the subgraph that starts at 'PlainOcr', whose registered graph is not durable, but this graph is: a durable run's subgraph run is checkpointed too; register a graph of it created with GraphOptions.Durable = true."));
        }
    }

    [Test]
    public void ASubgraphRegisteredButNotRun_IsRefused()
    {
        var options = new GraphOptions().Subgraph(Graph.Create<Ocr>());
        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create<Order>(options));
        Assert.That(error!.Errors, Has.Some.EqualTo("A subgraph that starts at 'Ocr' is registered, but no node of this graph runs it."));
        Assert.Throws<ArgumentException>(() => options.Subgraph(Graph.Create<Ocr>()));
    }
}

using Dataflow;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Graphs;

public sealed record NoExit : INode<NoExit>
{
    public ValueTask<NoExit> RunAsync(NodeContext context) => ValueTask.FromResult(this);
}

public interface IOrphan : INode;

public sealed record Lonely : INode<IOrphan>
{
    public ValueTask<IOrphan> RunAsync(NodeContext context) => throw new NotSupportedException();
}

public sealed record TwoFaced : INode<End>, INode<Finished>
{
    ValueTask<End> INode<End>.RunAsync(NodeContext context) => throw new NotSupportedException();

    ValueTask<Finished> INode<Finished>.RunAsync(NodeContext context) => throw new NotSupportedException();
}

public abstract record AbstractStart : INode;

[TestFixture]
public sealed class GraphTests
{
    [Test]
    public void Create_DiscoversEveryReachableNodeAndEdge()
    {
        var graph = Graph.Create<StressStart>();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(graph.Start, Is.EqualTo(typeof(StressStart)));
            Assert.That(graph.Nodes, Is.EqualTo(new[] { typeof(StressStart), typeof(Middle), typeof(End) }));
            Assert.That(graph.Edges, Is.EqualTo(new[] { new GraphEdge(typeof(StressStart), typeof(Middle)), new GraphEdge(typeof(Middle), typeof(End)) }));
            Assert.That(graph.TerminalNodes, Is.EqualTo(new[] { typeof(End) }));
        }
    }

    [Test]
    public void Create_WithAbstractSuccessor_FindsEveryConcreteChoice()
    {
        var graph = Graph.Create<Submission>();

        Assert.That(graph.Successors(typeof(Submission)), Is.EquivalentTo(new[] { typeof(Approved), typeof(Rejected) }));
        Assert.That(graph.TerminalNodes, Is.EquivalentTo(new[] { typeof(Approved), typeof(Rejected) }));
    }

    [Test]
    public void Create_WithSelfLoopThroughInterface_AllowsCycle()
    {
        var graph = Graph.Create<Counter>();

        Assert.That(graph.Successors(typeof(Counter)), Is.EquivalentTo(new[] { typeof(Counter), typeof(Finished) }));
    }

    [Test]
    public void Create_WhenNoPathToTerminal_NamesTheNode()
    {
        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<NoExit>());

        Assert.That(e!.Message, Is.EqualTo("Invalid graph: Node 'NoExit' has no path to a terminal node; every run through it would loop forever."));
    }

    [Test]
    public void Create_WhenAbstractSuccessorHasNoImplementation_NamesNodeAndSuccessor()
    {
        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<Lonely>());

        Assert.That(e!.Message, Does.StartWith("Invalid graph: Node 'Lonely' declares successor 'IOrphan', which is abstract and has no concrete implementation in "));
        Assert.That(e.Errors, Has.Count.EqualTo(1));
    }

    [Test]
    public void Create_WhenTypeIsNotANode_SaysSo()
    {
        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create(typeof(string)));

        Assert.That(e!.Message, Is.EqualTo("Invalid graph: 'String' is not a node: it does not implement INode."));
    }

    [Test]
    public void Create_WhenStartIsAbstract_SaysSo()
    {
        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<AbstractStart>());

        Assert.That(e!.Message, Is.EqualTo("Invalid graph: The start node 'AbstractStart' is abstract; start from a concrete node type."));
    }

    [Test]
    public void Create_WhenNodeDeclaresTwoSuccessorTypes_NamesBoth()
    {
        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<TwoFaced>());

        Assert.That(e!.Message, Does.Contain("Node 'TwoFaced' declares 2 successor types (End, Finished)"));
    }

    [Test]
    public void Create_WithBadOptions_ListsEveryProblemAtOnce()
    {
        var options = new GraphOptions { MaxDegreeOfParallelism = 0, MaxRunsInFlight = 0 };
        options.Nodes[typeof(Approved)] = new NodeOptions();
        options.Node<Middle>().MaxDegreeOfParallelism = -5;

        var e = Assert.Throws<InvalidGraphException>(() => Graph.Create<StressStart>(options));

        Assert.That(e!.Errors, Is.EqualTo(new[]
        {
            "MaxDegreeOfParallelism is 0; use a positive number or GraphOptions.Unbounded.",
            "MaxRunsInFlight is 0; use a positive number.",
            "Options are given for 'Approved', which is not a node of this graph.",
            "MaxDegreeOfParallelism of node 'Middle' is -5; use a positive number or GraphOptions.Unbounded.",
        }));
        Assert.That(e.Message, Does.StartWith("Invalid graph (4 problems):"));
    }

    [Test]
    public void Create_SnapshotsOptions()
    {
        var options = new GraphOptions { MaxRunsInFlight = 3 };
        var graph = Graph.Create<StressStart>(options);

        options.MaxRunsInFlight = 1000;

        Assert.That(graph.Options.MaxRunsInFlight, Is.EqualTo(3));
    }

    [Test]
    public void ToMermaid_DrawsEdgesAndMarksTerminals()
    {
        var mermaid = Graph.Create<Submission>().ToMermaid();

        Assert.That(mermaid, Is.EqualTo(
            "graph TD\n" +
            "    Submission(\"Submission\")\n" +
            "    Approved([\"Approved\"])\n" +
            "    Rejected([\"Rejected\"])\n" +
            "    Submission --> Approved\n" +
            "    Submission --> Rejected\n" +
            "    classDef terminal stroke-width:3px\n" +
            "    class Approved,Rejected terminal\n"));
    }
}

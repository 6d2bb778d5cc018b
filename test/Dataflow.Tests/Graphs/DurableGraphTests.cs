using System.Text.Json.Serialization;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Graphs;

/// <summary>What a durable graph checks when it is built, and its fingerprint.</summary>
public sealed class DurableGraphTests
{
    [Test]
    public void Create_Durable_RefusesEveryMemberThatCannotBeStored_NamingNodeAndMember()
    {
        var error = Assert.Throws<InvalidGraphException>(() => Graph.Create<Holder>(new GraphOptions { Durable = true }));
        Assert.That(error!.Errors, Has.Count.EqualTo(4), error.Message);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Errors, Has.One.Contains("Node 'Holder'").And.Contains("'OnDone'").And.Contains("delegate"));
            Assert.That(error.Errors, Has.One.Contains("'Anything'").And.Contains("JsonElement"));
            Assert.That(error.Errors, Has.One.Contains("'Shape'").And.Contains("abstract"));
            Assert.That(error.Errors, Has.One.Contains("Node 'Sealed'").And.Contains("'Fixed'").And.Contains("read-only"));
        }
    }

    [Test]
    public void Create_Durable_AcceptsPlainRecords_AndLeavesOutFilledInputs()
    {
        var graph = Graph.Create<Plain>(new GraphOptions { Durable = true });
        var json = NodeJson.Serialize(new Plain("a", [1, 2]) { Cached = "not stored", Ignored = () => 1 });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(json, Is.EqualTo("""{"Name":"a","Values":[1,2]}"""));
            Assert.That(NodeJson.Deserialize(json, typeof(Plain)), Is.EqualTo(new Plain("a", [1, 2])).Using<Plain>((x, y) => x.Name == y.Name && x.Values.SequenceEqual(y.Values)));
            Assert.That(graph.Fingerprint.Value, Has.Length.EqualTo(16));
        }
    }

    [Test]
    public void Fingerprint_SaysWhatChanged()
    {
        var graph = Graph.Create<Plain>(new GraphOptions { Durable = true });
        var stored = graph.Fingerprint.Description.Replace("Name: String", "Name: Int32", StringComparison.Ordinal) + "\nGone(X: Int32)";
        var changes = graph.Fingerprint.Differences(stored);
        Assert.That(changes, Has.Count.EqualTo(2));
        Assert.That(changes, Has.One.Contains("node type 'Plain' changed").And.Contains("Name: Int32"));
        Assert.That(changes, Has.One.Contains("node type 'Gone' was removed"));
    }

    [Test]
    public void Fingerprint_CoversFanOutsAndSubgraphs_AndNamesAChangedChildGraph()
    {
        var graph = Graph.Create<Split>(new GraphOptions { Durable = true });
        var description = graph.Fingerprint.Description;
        var stored = description.Replace("subgraph InnerStart: InnerStart(Text: String)", "subgraph InnerStart: InnerStart(Text: Int32)", StringComparison.Ordinal);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(description, Does.Contain("Split(N: Int32) -> Joined => fan-out Part: PartDone -> Joined"));
            Assert.That(description, Does.Contain("Joined(Count: Int32) -> Outer => subgraph InnerStart: InnerEnd -> Outer"));
            Assert.That(description, Does.Contain("\nsubgraph InnerStart: InnerStart(Text: String) -> InnerEnd"), "the child graph's node types are in its parent's fingerprint");
            Assert.That(stored, Is.Not.EqualTo(description));
            Assert.That(graph.Fingerprint.Differences(stored), Is.EqualTo(new[] { "node type 'subgraph InnerStart: InnerStart' changed: it was subgraph InnerStart: InnerStart(Text: Int32) -> InnerEnd, it is now subgraph InnerStart: InnerStart(Text: String) -> InnerEnd" }));
            Assert.That(graph.Find(typeof(Joined))!.Children!.Subgraph!.IsDurable, Is.True, "a durable graph's subgraph made from its start type is durable");
        }
    }

    public sealed record Split(int N) : INode<FanOut<Part, PartDone, Joined>>
    {
        public ValueTask<FanOut<Part, PartDone, Joined>> RunAsync(NodeContext context)
            => ValueTask.FromResult(new FanOut<Part, PartDone, Joined>(Enumerable.Range(0, N).Select(i => new Part(i))));
    }

    public sealed record Part(int I) : INode<PartDone>
    {
        public ValueTask<PartDone> RunAsync(NodeContext context) => ValueTask.FromResult(new PartDone(I));
    }

    public sealed record PartDone(int I) : INode;

    public sealed record Joined : INode<Subgraph<InnerStart, InnerEnd, Outer>>
    {
        [JsonConstructor]
        public Joined(int count) => Count = count;

        public Joined(FanOutResults<PartDone> results)
            : this(results.Count)
        {
        }

        public int Count { get; }

        public ValueTask<Subgraph<InnerStart, InnerEnd, Outer>> RunAsync(NodeContext context)
            => ValueTask.FromResult(new Subgraph<InnerStart, InnerEnd, Outer>(new InnerStart($"{Count}")));
    }

    public sealed record InnerStart(string Text) : INode<InnerEnd>
    {
        public ValueTask<InnerEnd> RunAsync(NodeContext context) => ValueTask.FromResult(new InnerEnd(Text.Length));
    }

    public sealed record InnerEnd(int Length) : INode;

    public sealed record Outer(InnerEnd End) : INode;

    public abstract record Shape;

    public sealed record Holder(string Name) : INode<Sealed>
    {
        public Action? OnDone { get; init; }

        public object? Anything { get; init; }

        public Shape? Shape { get; init; }

        public ValueTask<Sealed> RunAsync(NodeContext context) => ValueTask.FromResult(new Sealed());
    }

    public sealed record Sealed : INode
    {
        public int Fixed { get; } = 3;
    }

    public sealed record Plain(string Name, int[] Values) : INode<PlainEnd>
    {
        [Dep]
        public string? Cached { get; set; }

        [JsonIgnore]
        public Func<int>? Ignored { get; set; }

        public ValueTask<PlainEnd> RunAsync(NodeContext context) => ValueTask.FromResult(new PlainEnd());
    }

    public sealed record PlainEnd : INode;
}

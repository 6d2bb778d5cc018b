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

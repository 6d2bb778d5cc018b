using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Tests;

// A user's graph, loaded by the tests through --assembly (this test assembly) and --start.

public sealed record Greeting(string Name) : INode<Greeted>
{
    public ValueTask<Greeted> RunAsync(NodeContext context)
        => Name == "boom"
            ? throw new InvalidOperationException("asked to fail")
            : ValueTask.FromResult(new Greeted("hello " + Name));
}

public sealed record Greeted(string Text) : INode;

/// <summary>A start node that validates its argument in its constructor, as records often do.</summary>
public sealed record Checked : INode<Greeted>
{
    public Checked(string name)
    {
        Name = name == "invalid" ? throw new InvalidOperationException("name must not be 'invalid'") : name;
    }

    public string Name { get; }

    public ValueTask<Greeted> RunAsync(NodeContext context) => ValueTask.FromResult(new Greeted(Name));
}

/// <summary>Fails with its text as the exception message, so that the text is stored with the failure.</summary>
public sealed record Shout(string Text) : INode<Greeted>
{
    public ValueTask<Greeted> RunAsync(NodeContext context) => throw new InvalidOperationException(Text);
}

/// <summary>A durable fan-out: a crate filled bottle by bottle, its join made by its constructor.</summary>
public sealed record Crate(int Bottles) : INode<FanOut<Bottle, Filled, Packed>>
{
    public ValueTask<FanOut<Bottle, Filled, Packed>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new FanOut<Bottle, Filled, Packed>(Enumerable.Range(0, Bottles).Select(i => new Bottle(i))));
}

public sealed record Bottle(int Index) : INode<Filled>
{
    public ValueTask<Filled> RunAsync(NodeContext context) => ValueTask.FromResult(new Filled(Index));
}

public sealed record Filled(int Index) : INode;

public sealed record Packed : INode
{
    [System.Text.Json.Serialization.JsonConstructor]
    public Packed(int count) => Count = count;

    public Packed(FanOutResults<Filled> results)
        : this(results.Count)
    {
    }

    public int Count { get; }
}

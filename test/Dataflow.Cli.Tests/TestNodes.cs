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

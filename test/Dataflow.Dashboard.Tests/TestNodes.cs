using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Dashboard.Tests;

// Graphs of the tests. The real dataflow command loads them from this assembly (--assembly, --start).

/// <summary>Echoes its text; fails on "boom". Its text is the start node's, so it is what the store keeps as the run's input.</summary>
public sealed record Echo(string Text) : INode<Echoed>
{
    public async ValueTask<Echoed> RunAsync(NodeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await Task.Delay(2, context.CancellationToken);
        return Text == "boom" ? throw new InvalidOperationException("asked to fail: " + Text) : new Echoed(Text);
    }
}

public sealed record Echoed(string Text) : INode;

/// <summary>Waits for a person: a gate of type bool, then ships or rejects.</summary>
public sealed record Approval(string Item) : INode<Decision>
{
    [Gate("Ship it?")]
    public bool Approved { get; set; }

    public ValueTask<Decision> RunAsync(NodeContext context)
        => ValueTask.FromResult<Decision>(Approved ? new Shipped(Item) : new Rejected(Item));
}

public abstract record Decision : INode;

public sealed record Shipped(string Item) : Decision;

public sealed record Rejected(string Item) : Decision;

using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Workloads;

// The trivial graph for throughput: three nodes, no work, every step completes synchronously.
public sealed record PingStart(int Id) : INode<PingMiddle>
{
    public ValueTask<PingMiddle> RunAsync(NodeContext context) => ValueTask.FromResult(new PingMiddle(Id));
}

public sealed record PingMiddle(int Id) : INode<PingEnd>
{
    public ValueTask<PingEnd> RunAsync(NodeContext context) => ValueTask.FromResult(new PingEnd(Id));
}

public sealed record PingEnd(int Id) : INode;

// The original's stress graph: StressStart -> Middle -> End, with async work in each non-terminal node.
public sealed record StressStart(int DelayMs) : INode<StressMiddle>
{
    public async ValueTask<StressMiddle> RunAsync(NodeContext context)
    {
        await Task.Delay(DelayMs, context.CancellationToken);
        return new StressMiddle(DelayMs);
    }
}

public sealed record StressMiddle(int DelayMs) : INode<StressEnd>
{
    public async ValueTask<StressEnd> RunAsync(NodeContext context)
    {
        await Task.Delay(DelayMs, context.CancellationToken);
        return new StressEnd();
    }
}

public sealed record StressEnd : INode;

// Code that blocks its thread, declared as such; the naive baseline overrides the declaration.
[BlockingNode]
public sealed record BlockingWork(int Milliseconds) : INode<BlockingDone>
{
    public ValueTask<BlockingDone> RunAsync(NodeContext context)
    {
        Thread.Sleep(Milliseconds);
        return ValueTask.FromResult(new BlockingDone());
    }
}

public sealed record BlockingDone : INode;

/// <summary>A context for baselines that call nodes directly, outside any engine.</summary>
internal static class BaselineContext
{
    public static NodeContext Create(string id, INode start) => new(id, start, CancellationToken.None, services: null);
}

using Dataflow;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Tests;

// The original's stress graph: StressStart -> Middle -> End with a little async work per node.
public sealed record StressStart(int DelayMs = 10) : INode<Middle>
{
    public async ValueTask<Middle> RunAsync(NodeContext context)
    {
        await Task.Delay(DelayMs, context.CancellationToken).ConfigureAwait(false);
        return new Middle(DelayMs);
    }
}

public sealed record Middle(int DelayMs) : INode<End>
{
    public async ValueTask<End> RunAsync(NodeContext context)
    {
        await Task.Delay(DelayMs, context.CancellationToken).ConfigureAwait(false);
        return new End(context.RunId);
    }
}

public sealed record End(string RunId) : INode;

// A loop: Counter returns itself until it has counted to its target, then Finished.
public interface ICountStep : INode;

public sealed record Counter(int Remaining, int Count = 0) : INode<ICountStep>, ICountStep
{
    public async ValueTask<ICountStep> RunAsync(NodeContext context)
    {
        await Task.Yield();
        return Remaining <= 1 ? new Finished(Count + 1) : this with { Remaining = Remaining - 1, Count = Count + 1 };
    }
}

public sealed record Finished(int Count) : ICountStep;

// A choice between successors behind an abstract base.
public abstract record Review : INode;

public sealed record Approved(string By) : Review;

public sealed record Rejected(string Reason) : Review;

public sealed record Submission(int Score) : INode<Review>
{
    public ValueTask<Review> RunAsync(NodeContext context)
        => ValueTask.FromResult<Review>(Score >= 50 ? new Approved("bot") : new Rejected($"score {Score}"));
}

public sealed record Boom(string Message) : INode<End>
{
    public ValueTask<End> RunAsync(NodeContext context) => throw new InvalidOperationException(Message);
}

/// <summary>Waits for a signal before going on; sees cancellation through its token.</summary>
public sealed record Gated(TaskCompletionSource Entered, TaskCompletionSource Release) : INode<End>
{
    public async ValueTask<End> RunAsync(NodeContext context)
    {
        Entered.TrySetResult();
        await Release.Task.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        return new End(context.RunId);
    }
}

/// <summary>Blocks its thread (as synchronous I/O would) until released.</summary>
[BlockingNode]
public sealed record BlockingWork(ManualResetEventSlim Release, CountdownEvent Entered) : INode<End>
{
    public ValueTask<End> RunAsync(NodeContext context)
    {
        Entered.Signal();
        Release.Wait(TimeSpan.FromSeconds(60));
        return ValueTask.FromResult(new End(context.RunId));
    }
}

public sealed record NullReturner : INode<End>
{
    public ValueTask<End> RunAsync(NodeContext context) => ValueTask.FromResult<End>(null!);
}

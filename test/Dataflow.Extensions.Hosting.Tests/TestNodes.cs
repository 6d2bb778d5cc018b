using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Extensions.Hosting.Tests;

// Two steps that both take the run's scoped service, then a terminal node that says which instances they saw.
public sealed record ScopedStart(string Name) : INode<ScopedSecond>
{
    [Dep] public RunScoped? Scoped { get; set; }

    public ValueTask<ScopedSecond> RunAsync(NodeContext context) => ValueTask.FromResult(new ScopedSecond(Scoped!));
}

public sealed record ScopedSecond(RunScoped First) : INode<ScopedSeen>
{
    [Dep] public RunScoped? Scoped { get; set; }

    public ValueTask<ScopedSeen> RunAsync(NodeContext context) => ValueTask.FromResult(new ScopedSeen(First, Scoped!));
}

public sealed record ScopedSeen(RunScoped First, RunScoped Second) : INode;

/// <summary>A scoped service that knows whether its scope has ended.</summary>
public sealed class RunScoped : IAsyncDisposable
{
    private int _disposed;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        return ValueTask.CompletedTask;
    }
}

// Waits for a signal the test holds (a task from the container), honouring cancellation.
public sealed record Hold(int Id) : INode<Held>
{
    [Dep] public HoldSignal? Signal { get; set; }

    public async ValueTask<Held> RunAsync(NodeContext context)
    {
        await Signal!.Released.WaitAsync(context.CancellationToken).ConfigureAwait(false);
        return new Held(Id);
    }
}

public sealed record Held(int Id) : INode;

public sealed class HoldSignal
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Released => _released.Task;

    public void Release() => _released.TrySetResult();
}

// Two steps, so that a verbose policy shows a transition; fails when asked to.
public sealed record Step(bool Fail) : INode<Stepped>
{
    public ValueTask<Stepped> RunAsync(NodeContext context)
        => Fail ? throw new InvalidOperationException("step failed on purpose") : ValueTask.FromResult(new Stepped());
}

public sealed record Stepped : INode;

// A loop that counts to its target: for the iteration limit.
public interface ILoopStep : INode;

public sealed record Loop(int Remaining) : INode<ILoopStep>, ILoopStep
{
    public ValueTask<ILoopStep> RunAsync(NodeContext context)
        => ValueTask.FromResult<ILoopStep>(Remaining <= 1 ? new LoopDone() : new Loop(Remaining - 1));
}

public sealed record LoopDone : ILoopStep;

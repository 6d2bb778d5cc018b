using System.Threading.Channels;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Tests.Resilience;

/// <summary>What a test node tells its test: each attempt as it starts, the tokens it saw, dependency computations.</summary>
public sealed class Probe
{
    private readonly Channel<int> _attempts = Channel.CreateUnbounded<int>();
    private int _calls;
    private int _dependencyCalls;

    public int Calls => Volatile.Read(ref _calls);

    public int DependencyCalls => Volatile.Read(ref _dependencyCalls);

    /// <summary>Completed by the test to let a node that waits for it return (it ignores its token).</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set by a blocking node to let it return.</summary>
    public ManualResetEventSlim Unblock { get; } = new();

    public CancellationToken LastToken { get; set; }

    public void Started(int attempt)
    {
        Interlocked.Increment(ref _calls);
        _attempts.Writer.TryWrite(attempt);
    }

    public void DependencyComputed() => Interlocked.Increment(ref _dependencyCalls);

    /// <summary>Waits for the next attempt to start and returns its number.</summary>
    public async Task<int> NextAttemptAsync() => await _attempts.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
}

public sealed class TransientException(string message) : Exception(message);

public sealed class PermanentException(string message) : Exception(message);

/// <summary>The start of every resilience graph: it carries the probe, so that dependencies can find it.</summary>
public interface IProbed
{
    Probe Probe { get; }
}

public sealed record Finish(int Attempt) : INode;

/// <summary>Fails its first <see cref="Failures"/> attempts with a <see cref="TransientException"/>; declared by attribute.</summary>
[Retry(3, BaseDelayMs = 100, Jitter = 0)]
public sealed record Flaky(int Failures, Probe Probe) : INode<Finish>, IProbed
{
    public ValueTask<Finish> RunAsync(NodeContext context)
    {
        Probe.Started(context.Attempt);
        return context.Attempt <= Failures ? throw new TransientException($"attempt {context.Attempt}") : ValueTask.FromResult(new Finish(context.Attempt));
    }
}

/// <summary>The same without attributes, for policies given through NodeOptions; throws what it is told to.</summary>
public sealed record Plain(int Failures, Probe Probe, bool Permanent = false) : INode<Finish>, IProbed
{
    public ValueTask<Finish> RunAsync(NodeContext context)
    {
        Probe.Started(context.Attempt);
        if (context.Attempt > Failures)
        {
            return ValueTask.FromResult(new Finish(context.Attempt));
        }

        return Permanent ? throw new PermanentException("no") : throw new TransientException($"attempt {context.Attempt}");
    }
}

/// <summary>A unique node name for the meter test, so that parallel tests do not count into it.</summary>
[Retry(3, BaseDelayMs = 0, Jitter = 0)]
public sealed record MeteredFlaky(Probe Probe) : INode<Finish>
{
    public ValueTask<Finish> RunAsync(NodeContext context)
    {
        Probe.Started(context.Attempt);
        return context.Attempt < 3 ? throw new TransientException("flaky") : ValueTask.FromResult(new Finish(context.Attempt));
    }
}

/// <summary>A dependency that counts its computations on the run's probe.</summary>
public sealed class CountingDependency : IDependency<string>
{
    public ValueTask<string> ResolveAsync(NodeContext context)
    {
        var probe = ((IProbed)context.StartNode).Probe;
        probe.DependencyComputed();
        return ValueTask.FromResult($"value {probe.DependencyCalls}");
    }
}

/// <summary>Fails once, with a dependency: whether a retry recomputes it depends on its policy.</summary>
public sealed record WithDependency(Probe Probe) : INode<Finish>, IProbed
{
    [Dep(typeof(CountingDependency))]
    public string? Value { get; set; }

    public ValueTask<Finish> RunAsync(NodeContext context)
    {
        Probe.Started(context.Attempt);
        return context.Attempt == 1 ? throw new TransientException("once") : ValueTask.FromResult(new Finish(context.Attempt));
    }
}

/// <summary>Waits on its token: ends only when cancelled (by its timeout, the run's cancel or deadline).</summary>
public sealed record Cooperative(Probe Probe) : INode<Finish>, IProbed
{
    public async ValueTask<Finish> RunAsync(NodeContext context)
    {
        Probe.LastToken = context.CancellationToken;
        Probe.Started(context.Attempt);
        await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken).ConfigureAwait(false);
        return new Finish(context.Attempt);
    }
}

/// <summary>Ignores its token on its first attempt: waits for the test's release; later attempts return at once.</summary>
public sealed record Stubborn(Probe Probe) : INode<Finish>, IProbed
{
    public async ValueTask<Finish> RunAsync(NodeContext context)
    {
        Probe.Started(context.Attempt);
        if (context.Attempt == 1)
        {
            await Probe.Release.Task.ConfigureAwait(false);
        }

        return new Finish(context.Attempt);
    }
}

/// <summary>Blocks its dedicated thread until the test unblocks it, whatever its token says.</summary>
[BlockingNode]
public sealed record Blocker(Probe Probe) : INode<Finish>, IProbed
{
    public ValueTask<Finish> RunAsync(NodeContext context)
    {
        Probe.LastToken = context.CancellationToken;
        Probe.Started(context.Attempt);
        Probe.Unblock.Wait(TimeSpan.FromSeconds(30));
        return ValueTask.FromResult(new Finish(context.Attempt));
    }
}

/// <summary>A gate with a timeout that falls back to a default.</summary>
public sealed record Ask(string What) : INode<Answer>
{
    [Gate("Approve?", TimeoutMs = 1000, OnTimeout = GateTimeoutAction.UseDefault, Default = false)]
    public bool Approved { get; set; } = true;

    public ValueTask<Answer> RunAsync(NodeContext context) => ValueTask.FromResult(new Answer(What, Approved));
}

/// <summary>A gate with a timeout that fails the run.</summary>
public sealed record AskOrFail(string What) : INode<Answer>
{
    [Gate("Approve?", TimeoutMs = 1000)]
    public bool Approved { get; set; }

    public ValueTask<Answer> RunAsync(NodeContext context) => ValueTask.FromResult(new Answer(What, Approved));
}

/// <summary>A gate with no timeout.</summary>
public sealed record AskForever(string What) : INode<Answer>
{
    [Gate("Approve?")]
    public bool Approved { get; set; }

    public ValueTask<Answer> RunAsync(NodeContext context) => ValueTask.FromResult(new Answer(What, Approved));
}

public sealed record Answer(string What, bool Approved) : INode;

public sealed record BadDefault(string What) : INode<Answer>
{
    [Gate(TimeoutMs = 10, OnTimeout = GateTimeoutAction.UseDefault, Default = "yes")]
    public bool Approved { get; set; }

    public ValueTask<Answer> RunAsync(NodeContext context) => ValueTask.FromResult(new Answer(What, Approved));
}

/// <summary>A charge that fails for good after two attempts, then hands its failure to <see cref="DeadLetter"/>.</summary>
[Retry(2, BaseDelayMs = 0, Jitter = 0)]
[RecoverWith(typeof(DeadLetter))]
public sealed record Charge(string Order, Probe Probe) : INode<Charged>, IProbed
{
    public ValueTask<Charged> RunAsync(NodeContext context)
    {
        Probe.Started(context.Attempt);
        return Order == "bad" ? throw new TransientException($"card declined for {Order}") : ValueTask.FromResult(new Charged(Order));
    }
}

public sealed record Charged(string Order) : INode;

/// <summary>A terminal recovery node: the run ends Done here, with the failure in hand.</summary>
public sealed record DeadLetter(NodeFailure Failure) : INode;

/// <summary>Waits on its token, with a recovery route that a cancellation must not take.</summary>
[RecoverWith(typeof(DeadLetter))]
public sealed record CancellableCharge(Probe Probe) : INode<Charged>, IProbed
{
    public async ValueTask<Charged> RunAsync(NodeContext context)
    {
        Probe.Started(context.Attempt);
        await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken).ConfigureAwait(false);
        return new Charged("never");
    }
}

public sealed record NoFailureConstructor(string Reason) : INode;

public abstract record AbstractRecovery : INode;

public sealed class NotANode
{
    public NotANode(NodeFailure failure) => _ = failure;
}

[RecoverWith(typeof(NoFailureConstructor))]
public sealed record RecoversBadly(int X) : INode<Finish>
{
    public ValueTask<Finish> RunAsync(NodeContext context) => ValueTask.FromResult(new Finish(1));
}

[RecoverWith(typeof(AbstractRecovery))]
public sealed record RecoversAbstract(int X) : INode<Finish>
{
    public ValueTask<Finish> RunAsync(NodeContext context) => ValueTask.FromResult(new Finish(1));
}

[RecoverWith(typeof(NotANode))]
public sealed record RecoversToNonNode(int X) : INode<Finish>
{
    public ValueTask<Finish> RunAsync(NodeContext context) => ValueTask.FromResult(new Finish(1));
}

namespace Dataflow.Graphs.Resilience;

/// <summary>
/// Retries a node type when an attempt fails; see <see cref="RetryPolicy"/> for the backoff and what is retried.
/// <see cref="NodeOptions.Retry"/>, when set, wins over the attribute.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = true, AllowMultiple = false)]
public sealed class RetryAttribute : Attribute
{
    /// <summary>Retries with the default policy, or with the attempts given.</summary>
    /// <param name="maxAttempts">The most attempts, the first included.</param>
    public RetryAttribute(int maxAttempts = 3)
    {
        MaxAttempts = maxAttempts;
    }

    /// <summary>The most attempts of one visit, the first included.</summary>
    public int MaxAttempts { get; }

    /// <summary>The delay before the second attempt, in milliseconds, before jitter.</summary>
    /// <value>The default value is 200.</value>
    public double BaseDelayMs { get; set; } = 200;

    /// <summary>What each further delay is multiplied by.</summary>
    /// <value>The default value is 2.</value>
    public double BackoffFactor { get; set; } = 2;

    /// <summary>The longest delay, in milliseconds.</summary>
    /// <value>The default value is 30,000.</value>
    public double MaxDelayMs { get; set; } = 30_000;

    /// <summary>The jitter, as a fraction of the delay (0 to 1).</summary>
    /// <value>The default value is 0.2.</value>
    public double Jitter { get; set; } = 0.2;

    /// <summary>
    /// The exception types retried (and their subtypes); empty keeps <see cref="Dataflow.Engine.Resilience.RetryDefaults.ShouldRetry"/>.
    /// </summary>
    public Type[] RetryOn { get; set; } = [];

    /// <summary>Whether the node's dependencies are computed again before each retry.</summary>
    public bool FreshDependencies { get; set; }

    internal RetryPolicy ToPolicy()
    {
        var on = RetryOn;
        return new RetryPolicy
        {
            MaxAttempts = MaxAttempts,
            BaseDelay = Milliseconds(BaseDelayMs),
            BackoffFactor = BackoffFactor,
            MaxDelay = Milliseconds(MaxDelayMs),
            Jitter = Jitter,
            FreshDependencies = FreshDependencies,
            ShouldRetry = on is { Length: > 0 } ? e => Array.Exists(on, t => t.IsInstanceOfType(e)) : null,
        };
    }

    private static TimeSpan Milliseconds(double ms) => double.IsFinite(ms) && Math.Abs(ms) < TimeSpan.MaxValue.TotalMilliseconds ? TimeSpan.FromMilliseconds(ms) : TimeSpan.MinValue;
}

/// <summary>
/// Limits each attempt of a node type: after the timeout its <see cref="NodeContext.CancellationToken"/> is cancelled
/// and the attempt fails with <see cref="Dataflow.Engine.Resilience.NodeTimeoutException"/> (retried like any other
/// failure). <see cref="NodeOptions.Timeout"/>, when set, wins over the attribute.
/// </summary>
/// <remarks>
/// An asynchronous node that ignores its token is no longer awaited after the timeout (and a grace of 250 ms of real
/// time, in which a node that honours its token finishes and is failed with what it threw as the timeout's cause): the
/// run moves on and the node's task is left to finish, its outcome observed and discarded. A blocking node (<see cref="BlockingNodeAttribute"/>)
/// cannot be pre-empted: its token is cancelled at the timeout, and the attempt fails when it returns, whatever it
/// returned; its dedicated thread stays taken until then.
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = true, AllowMultiple = false)]
public sealed class NodeTimeoutAttribute : Attribute
{
    /// <summary>A timeout per attempt.</summary>
    /// <param name="milliseconds">The limit, in milliseconds.</param>
    public NodeTimeoutAttribute(double milliseconds)
    {
        Milliseconds = milliseconds;
    }

    /// <summary>The limit, in milliseconds.</summary>
    public double Milliseconds { get; }
}

/// <summary>
/// Routes a run whose node of this type failed for good (after its retries; not when the run was cancelled or passed
/// its deadline) to a recovery node: <see cref="RecoveryType"/>, created with its public constructor taking a
/// <see cref="NodeFailure"/>. The recovery node continues the run like any successor: it may compensate, dead-letter
/// (a terminal recovery node ends the run Done), or take another path. <see cref="NodeOptions.RecoverWith"/>, when set,
/// wins over the attribute.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = true, AllowMultiple = false)]
public sealed class RecoverWithAttribute : Attribute
{
    /// <summary>Declares the recovery node type.</summary>
    /// <param name="recoveryType">A concrete node type with a public constructor taking a <see cref="NodeFailure"/>.</param>
    public RecoverWithAttribute(Type recoveryType)
    {
        RecoveryType = recoveryType;
    }

    /// <summary>The recovery node type.</summary>
    public Type RecoveryType { get; }
}


namespace Dataflow.Graphs.Resilience;

/// <summary>
/// How a node type is retried when an attempt fails: how many attempts, the exponential backoff between them (with
/// jitter, up to a maximum delay), which failures are retried, and whether dependencies are computed afresh.
/// </summary>
/// <remarks>
/// <para>The delay before attempt <c>n + 1</c> (after attempt <c>n</c> failed) is
/// <c>min(MaxDelay, BaseDelay × BackoffFactor^(n−1) × (1 + Jitter × u))</c> with <c>u</c> uniform in [−1, 1):
/// with the defaults, 200 ms ± 20 %, then 400 ms ± 20 %, and so on, never more than <see cref="MaxDelay"/>.</para>
/// <para>While a run waits for its next attempt it has left the network: it holds no node slot, no admission slot and
/// no thread, and its state is <see cref="Dataflow.Engine.RunState.Waiting"/>. The wait uses the engine's
/// <see cref="Dataflow.Engine.GraphEngineOptions.TimeProvider"/>.</para>
/// <para>A run that is cancelled or passes its deadline is never retried, whatever <see cref="ShouldRetry"/> says.</para>
/// <para>Declared per node type with <see cref="NodeOptions.Retry"/> or <see cref="RetryAttribute"/>; the options win.
/// Validated and copied when the graph is built.</para>
/// </remarks>
public sealed class RetryPolicy
{
    /// <summary>The most attempts of one visit of the node, the first included; 1 means no retry.</summary>
    /// <value>The default value is 3.</value>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The delay before the second attempt, before jitter.</summary>
    /// <value>The default value is 200 ms.</value>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>What each further delay is multiplied by; 1 keeps the delay constant.</summary>
    /// <value>The default value is 2.</value>
    public double BackoffFactor { get; set; } = 2;

    /// <summary>The longest delay between two attempts, jitter included.</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How far a delay may stray from its nominal value, as a fraction of it (0 to 1): 0.2 spreads it over ±20 %, so
    /// that runs failing together do not all come back together.
    /// </summary>
    /// <value>The default value is 0.2.</value>
    public double Jitter { get; set; } = 0.2;

    /// <summary>
    /// Which failures are retried; <see langword="null"/> uses <see cref="Dataflow.Engine.Resilience.RetryDefaults.ShouldRetry"/>. A predicate of your
    /// own replaces the default; compose with it to keep its exclusions.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Func<Exception, bool>? ShouldRetry { get; set; }

    /// <summary>
    /// Whether the node's dependencies are computed again before each retry. By default they are computed once per
    /// run and cached, so every attempt sees the same values; set this when a failure may come from a dependency's
    /// value (a stale token, a closed connection).
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool FreshDependencies { get; set; }

    internal RetryPolicy Clone() => (RetryPolicy)MemberwiseClone();

    /// <summary>Adds every problem of the policy of <paramref name="node"/> to <paramref name="errors"/>.</summary>
    internal void Validate(string node, List<string> errors)
    {
        var where = $"The retry policy of node '{node}'";
        if (MaxAttempts < 1)
        {
            errors.Add($"{where} has MaxAttempts {MaxAttempts}; use 1 (no retry) or more.");
        }

        if (BaseDelay < TimeSpan.Zero)
        {
            errors.Add($"{where} has BaseDelay {BaseDelay}; use zero or more.");
        }

        if (MaxDelay < BaseDelay || MaxDelay > MaxSupportedDelay)
        {
            errors.Add($"{where} has MaxDelay {MaxDelay}; use at least BaseDelay ({BaseDelay}) and at most {MaxSupportedDelay.TotalDays:0} days.");
        }

        if (double.IsNaN(BackoffFactor) || BackoffFactor < 1)
        {
            errors.Add($"{where} has BackoffFactor {BackoffFactor}; use 1 (constant delay) or more.");
        }

        if (double.IsNaN(Jitter) || Jitter is < 0 or > 1)
        {
            errors.Add($"{where} has Jitter {Jitter}; use a fraction from 0 to 1.");
        }
    }

    /// <summary>The longest delay a timer takes.</summary>
    internal static readonly TimeSpan MaxSupportedDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>The delay after attempt <paramref name="attempt"/> failed, for a jitter draw <paramref name="unit"/> in [−1, 1).</summary>
    internal TimeSpan DelayAfter(int attempt, double unit)
    {
        var nominal = BaseDelay.TotalMilliseconds * Math.Pow(BackoffFactor, attempt - 1);
        var jittered = nominal * (1 + (Jitter * unit));
        return TimeSpan.FromMilliseconds(Math.Clamp(jittered, 0, MaxDelay.TotalMilliseconds));
    }
}

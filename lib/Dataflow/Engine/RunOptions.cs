using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>Options of one run, given at submit.</summary>
public sealed class RunOptions
{
    /// <summary>What the run emits as events.</summary>
    /// <value>The default value is <see cref="OutputPolicy.Normal"/>.</value>
    public OutputPolicy Policy { get; set; } = OutputPolicy.Normal;

    /// <summary>
    /// The most nodes the run may execute; a run that would execute more fails with
    /// <see cref="IterationLimitExceededException"/>. 0 means no limit; <see langword="null"/> takes
    /// <see cref="GraphEngineOptions.MaxIterations"/>.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? MaxIterations { get; set; }

    /// <summary>
    /// The longest the run may take from submit (a wait for admission included). Once passed, the run ends as
    /// <see cref="RunState.Failed"/> with <see cref="Resilience.RunDeadlineExceededException"/> wherever it is: executing a
    /// node (its token is cancelled; the run ends when the node returns, or at once for a node with a timeout), in a
    /// block's buffer, in a backoff, or at a gate. <see langword="null"/> sets no deadline.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? Deadline { get; set; }

    /// <summary>Validates the options of one run, reporting every problem at once, and fixes what the run uses.</summary>
    internal static RunSettings Settle(RunOptions? options, GraphEngineOptions engine)
    {
        if (options is null)
        {
            return new RunSettings(OutputPolicy.Normal, engine.MaxIterations, engine.TrackMemory, engine.Services, engine.RunServices);
        }

        var policy = options.Policy;
        var maxIterations = options.MaxIterations;
        var deadline = options.Deadline;
        if (policy is < OutputPolicy.Silent or > OutputPolicy.Verbose || maxIterations < 0 || (deadline is { } d && (d <= TimeSpan.Zero || d.TotalMilliseconds > uint.MaxValue - 1)))
        {
            // Messages are built only on the way to an error: this runs on every submit.
            new OptionErrors(nameof(RunOptions))
                .Require(Enum.IsDefined(policy), $"Policy is {(int)policy}, which is not an OutputPolicy.")
                .Require(maxIterations is null or >= 0, $"MaxIterations is {maxIterations}; it must be 0 (no limit), positive, or null (the engine's).")
                .Require(deadline is null || (deadline > TimeSpan.Zero && deadline.Value.TotalMilliseconds <= uint.MaxValue - 1), $"Deadline is {deadline}; it must be positive (at most about 49 days), or null (none).")
                .ThrowIfAny();
        }

        // The submit time is only what a deadline counts from: no clock reading without one (this runs on every submit).
        return new RunSettings(policy, maxIterations ?? engine.MaxIterations, engine.TrackMemory, engine.Services, engine.RunServices, deadline, deadline is null ? 0 : engine.TimeProvider.GetTimestamp());
    }
}

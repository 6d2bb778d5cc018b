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

    /// <summary>Validates the options of one run, reporting every problem at once, and fixes what the run uses.</summary>
    internal static RunSettings Settle(RunOptions? options, GraphEngineOptions engine)
    {
        if (options is null)
        {
            return new RunSettings(OutputPolicy.Normal, engine.MaxIterations, engine.TrackMemory, engine.Services, engine.RunServices);
        }

        var policy = options.Policy;
        var maxIterations = options.MaxIterations;
        if (policy is < OutputPolicy.Silent or > OutputPolicy.Verbose || maxIterations < 0)
        {
            // Messages are built only on the way to an error: this runs on every submit.
            new OptionErrors(nameof(RunOptions))
                .Require(Enum.IsDefined(policy), $"Policy is {(int)policy}, which is not an OutputPolicy.")
                .Require(maxIterations is null or >= 0, $"MaxIterations is {maxIterations}; it must be 0 (no limit), positive, or null (the engine's).")
                .ThrowIfAny();
        }

        return new RunSettings(policy, maxIterations ?? engine.MaxIterations, engine.TrackMemory, engine.Services, engine.RunServices);
    }
}

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
}

using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>Options of a <see cref="GraphEngine"/>; validated and copied when the engine is created.</summary>
public sealed class GraphEngineOptions
{
    /// <summary>How many completed runs <see cref="GraphEngine.Get"/> can still find; the oldest is evicted first.</summary>
    /// <value>The default value is 20.</value>
    public int HistoryCapacity { get; set; } = 20;

    /// <summary>The iteration limit of runs that do not set their own; 0 means no limit.</summary>
    /// <value>The default value is 10,000.</value>
    public int MaxIterations { get; set; } = 10_000;

    /// <summary>
    /// What <see cref="GraphEngine.DisposeAsync"/> does with runs still in flight: with
    /// <see langword="true"/> it cancels them; with <see langword="false"/> it lets them finish.
    /// Either way every run ends in a final state before disposal returns.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CancelRunsOnDispose { get; set; } = true;

    /// <summary>
    /// Whether each run records the process's resident set size at its start and end (<see cref="GraphRun.RssDeltaBytes"/>),
    /// from a process-wide sample refreshed at most once a millisecond: next to free, so it is on by default.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool TrackMemory { get; set; } = true;

    /// <summary>
    /// Where <see cref="DepAttribute"/> inputs without a dependency type come from (by the property's type), and
    /// where dependency types are created when it provides them. Hand in the <see cref="IServiceProvider"/> of
    /// Microsoft.Extensions.DependencyInjection, or any other.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: service inputs fail their runs.</value>
    public IServiceProvider? Services { get; set; }

    /// <summary>
    /// Makes the services of one run, called once as the run is submitted: a run's <see cref="DepAttribute"/>
    /// inputs and dependency types then come from what it returns instead of <see cref="Services"/> (a service scope
    /// per run, for example, so that a scoped database context lives as long as its run). When the provider it
    /// returns is <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>, it is disposed when the run ends.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: every run uses <see cref="Services"/>.</value>
    public Func<GraphRun, IServiceProvider>? RunServices { get; set; }

    /// <summary>The clock for run and node times.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal GraphEngineOptions Validated()
    {
        var copy = (GraphEngineOptions)MemberwiseClone();
        new OptionErrors(nameof(GraphEngineOptions))
            .Require(copy.HistoryCapacity >= 0, $"HistoryCapacity is {copy.HistoryCapacity}; it must be 0 or more.")
            .Require(copy.MaxIterations >= 0, $"MaxIterations is {copy.MaxIterations}; it must be 0 (no limit) or more.")
            .Require(copy.TimeProvider is not null, "TimeProvider is null; leave it at TimeProvider.System or give a clock.")
            .ThrowIfAny();
        return copy;
    }
}

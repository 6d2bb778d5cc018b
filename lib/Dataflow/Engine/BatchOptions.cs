using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>How <see cref="GraphEngine.RunBatchAsync(Graph, IEnumerable{INode}, BatchOptions?, CancellationToken)"/> runs a batch.</summary>
public sealed class BatchOptions
{
    /// <summary>
    /// Every run's options (policy, iteration limit, deadline); read and checked once, before the first run. Each run's
    /// <see cref="RunOptions.Deadline"/> counts from when its start node is read.
    /// </summary>
    /// <value>The default value is null: the engine's defaults.</value>
    public RunOptions? Run { get; set; }

    /// <summary>
    /// Called with each run once it has started, on the batch's own flow, before the next start node is read: where a
    /// caller counts submissions or starts tracking a run. An exception from it stops the batch from starting more runs.
    /// </summary>
    /// <value>The default value is null.</value>
    public Action<GraphRun>? RunSubmitted { get; set; }

    /// <summary>
    /// Called with each run once it has ended (its final state, result or error, timings and trace are set), on the
    /// thread that ended it: keep it short and thread-safe. It is called before the batch's task completes. An exception
    /// from it does not stop the batch: the batch's task throws the first one after every run has ended.
    /// </summary>
    /// <value>The default value is null.</value>
    public Action<GraphRun>? RunEnded { get; set; }
}

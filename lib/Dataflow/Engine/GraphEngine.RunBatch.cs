using System.Runtime.ExceptionServices;
using Dataflow.Graphs;

namespace Dataflow.Engine;

// Running a batch to its end: every start node a run, the batch's task done when the last run has ended.
public sealed partial class GraphEngine
{
    /// <summary>
    /// Runs a batch: starts a run for each start node of <paramref name="starts"/>, in order, reading the next one only
    /// once the graph has room for it (as <see cref="SubmitManyAsync(Graph, IAsyncEnumerable{INode}, RunOptions?, CancellationToken)"/>
    /// does), and completes when every run it started has ended, with how many ended in each state. It keeps no run
    /// once it has ended and makes no completion task per run, so a batch of millions costs what its runs in flight cost;
    /// <see cref="BatchOptions.RunEnded"/> sees each run as it ends.
    /// </summary>
    /// <param name="graph">The graph.</param>
    /// <param name="starts">The start nodes, fully formed; each one's type must be the graph's start type.</param>
    /// <param name="options">The runs' options and the batch's callbacks; null for the engine's defaults.</param>
    /// <param name="cancellationToken">
    /// Stops reading <paramref name="starts"/> and cancels the runs started, as it would for each
    /// <see cref="SubmitAsync"/>; the task still waits for those runs to end (so that none outlives it), then throws
    /// <see cref="OperationCanceledException"/>.
    /// </param>
    /// <returns>How many runs the batch started, and how many ended done, failed and cancelled.</returns>
    /// <exception cref="ArgumentException">
    /// An option is invalid (thrown at once, before anything is read), or a start node is null or does not fit the graph
    /// (thrown once the runs started before it have ended, naming its position).
    /// </exception>
    /// <exception cref="ObjectDisposedException">The engine is disposed, also while the batch waited for room.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <remarks>
    /// Whatever stops the batch early (the token, an exception from <paramref name="starts"/> or from
    /// <see cref="BatchOptions.RunSubmitted"/>, a disposed engine), the runs already started go on to their end and the
    /// task throws only after they have: nothing already accepted is dropped.
    /// </remarks>
    public Task<BatchResult> RunBatchAsync(Graph graph, IAsyncEnumerable<INode> starts, BatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(starts);
        var (network, settings) = Prepare(graph, options?.Run);
        return RunBatchCoreAsync(network, settings, starts, options, cancellationToken);
    }

    /// <inheritdoc cref="RunBatchAsync(Graph, IAsyncEnumerable{INode}, BatchOptions?, CancellationToken)"/>
    public Task<BatchResult> RunBatchAsync(Graph graph, IEnumerable<INode> starts, BatchOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(starts);
        var (network, settings) = Prepare(graph, options?.Run);
        return RunBatchCoreAsync(network, settings, Read(starts), options, cancellationToken);
    }

    private async Task<BatchResult> RunBatchCoreAsync(GraphNetwork network, RunSettings settings, IAsyncEnumerable<INode> starts, BatchOptions? options, CancellationToken cancellationToken)
    {
        var batch = new RunBatch(options?.RunEnded);
        var submitted = options?.RunSubmitted;
        ExceptionDispatchInfo? stopped = null;
        try
        {
            await foreach (var run in SubmitEachAsync(network, settings with { Batch = batch }, starts, cancellationToken).ConfigureAwait(false))
            {
                submitted?.Invoke(run);
            }
        }
        catch (Exception e)
        {
            // Thrown once the runs already started have ended: see the remarks.
            stopped = ExceptionDispatchInfo.Capture(e);
        }

        await batch.CloseAsync().ConfigureAwait(false);
        stopped?.Throw();
        batch.CallbackFailure?.Throw();
        return batch.Result;
    }
}

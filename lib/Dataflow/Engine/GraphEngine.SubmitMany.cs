using System.Runtime.CompilerServices;
using Dataflow.Graphs;

namespace Dataflow.Engine;

// Submitting a batch: many start nodes, read at the pace the graph takes runs.
public sealed partial class GraphEngine
{
    /// <summary>
    /// Starts a run for each start node of <paramref name="starts"/>, in order, and yields each run as it starts. Like
    /// <see cref="SubmitAsync"/> it waits for room while the graph has <see cref="GraphOptions.MaxRunsInFlight"/> runs in
    /// flight; it takes the next start node from <paramref name="starts"/> only once it holds room for it, so a large or
    /// endless source (a file, a query, a channel) is read at the pace the graph takes runs, never ahead of it.
    /// </summary>
    /// <param name="graph">The graph.</param>
    /// <param name="starts">The start nodes, fully formed; each one's type must be the graph's start type.</param>
    /// <param name="options">
    /// Every run's policy, iteration limit and deadline; read and checked once, before the first run. Each run's
    /// <see cref="RunOptions.Deadline"/> counts from when its start node is read.
    /// </param>
    /// <param name="cancellationToken">
    /// Stops waiting for room and reading <paramref name="starts"/> (throwing <see cref="OperationCanceledException"/>),
    /// and cancels the runs started, as it would for each <see cref="SubmitAsync"/>.
    /// </param>
    /// <returns>The runs, Running, in the order of their start nodes.</returns>
    /// <exception cref="ArgumentException">
    /// An option is invalid (thrown here, before anything is read), or a start node is null or does not fit the graph
    /// (thrown while enumerating, naming its position; the runs started before it stand).
    /// </exception>
    /// <exception cref="ObjectDisposedException">The engine is disposed, also while this waited for room.</exception>
    public IAsyncEnumerable<GraphRun> SubmitManyAsync(Graph graph, IAsyncEnumerable<INode> starts, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(starts);
        var (network, settings) = Prepare(graph, options);
        return SubmitEachAsync(network, settings, starts, cancellationToken);
    }

    /// <inheritdoc cref="SubmitManyAsync(Graph, IAsyncEnumerable{INode}, RunOptions?, CancellationToken)"/>
    public IAsyncEnumerable<GraphRun> SubmitManyAsync(Graph graph, IEnumerable<INode> starts, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(starts);
        var (network, settings) = Prepare(graph, options);
        return SubmitEachAsync(network, settings, Read(starts), cancellationToken);
    }

    private static async IAsyncEnumerable<INode> Read(IEnumerable<INode> starts)
    {
        foreach (var start in starts)
        {
            yield return start;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private async IAsyncEnumerable<GraphRun> SubmitEachAsync(GraphNetwork network, RunSettings settings, IAsyncEnumerable<INode> starts, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var graph = network.Graph;
        var position = 0;
        var source = starts.GetAsyncEnumerator(cancellationToken);
        await using (source.ConfigureAwait(false))
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!network.TryEnter(out var lease))
                {
                    lease = await WaitForRoomAsync(network, cancellationToken).ConfigureAwait(false);
                }

                INode? start;
                try
                {
                    if (!await source.MoveNextAsync().ConfigureAwait(false))
                    {
                        lease.Return();
                        yield break;
                    }

                    start = source.Current;
                    if (start is null || start.GetType() != graph.Start)
                    {
                        throw new ArgumentException(
                            start is null
                                ? $"The start node at position {position} is null."
                                : $"The start node at position {position} is a '{start.GetType().Name}', but the graph starts at '{graph.StartName}'.",
                            nameof(starts));
                    }

                    ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
                }
                catch
                {
                    // Nothing is started for this slot: the source failed or ended, a start node was wrong, or the engine is going.
                    lease.Return();
                    throw;
                }

                position++;

                // A run's deadline counts from its submit: here, when its start node was read (the room for it was
                // taken just before), not from the batch's start.
                var run = settings.Deadline is null ? settings : settings with { SubmittedAt = _options.TimeProvider.GetTimestamp() };
                yield return Launch(network, start, run, lease, cancellationToken);
            }
        }
    }
}

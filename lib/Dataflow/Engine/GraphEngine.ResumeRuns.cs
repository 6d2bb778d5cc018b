using Dataflow.Checkpoints;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>Resuming chosen runs: what a worker does with the runs of the queue items it took over from a dead worker.</summary>
public sealed partial class GraphEngine
{
    /// <summary>
    /// Brings back the named runs of <paramref name="graph"/> from the engine's checkpoint store, like
    /// <see cref="ResumeAsync(Graph, CancellationToken)"/> but only these: each unfinished one continues, with its id,
    /// from its last checkpoint; a finished one is not touched and counts in <see cref="ResumeResult.FinishedEarlier"/>;
    /// one this engine already runs is skipped. For a process that owns some runs of a graph that others run too, such
    /// as a worker that took over a dead worker's leases.
    /// </summary>
    /// <param name="graph">The durable graph the runs were checkpointed with.</param>
    /// <param name="runIds">The runs to resume.</param>
    /// <param name="cancellationToken">Stops reading and waiting for admission; runs resumed so far go on.</param>
    /// <returns>The resumed runs and how many of the named runs had finished.</returns>
    /// <exception cref="ArgumentException">The graph is not durable, or a run is a run of another graph or a fan-out's or subgraph's child; nothing is resumed.</exception>
    /// <exception cref="InvalidOperationException">The engine has no checkpoint store.</exception>
    /// <exception cref="UnknownRunException">The store has no checkpoint of one of the runs; nothing is resumed.</exception>
    /// <exception cref="GraphChangedException">A run was checkpointed with a graph whose node types differ; nothing is resumed.</exception>
    /// <exception cref="CheckpointException">A stored node cannot be restored; nothing is resumed.</exception>
    public async Task<ResumeResult> ResumeAsync(Graph graph, IReadOnlyCollection<string> runIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var (network, recorder) = DurableNetwork(graph);
        var unfinished = new List<RunCheckpoint>(runIds.Count);
        long finished = 0;
        foreach (var runId in runIds.Distinct(StringComparer.Ordinal))
        {
            var checkpoints = await recorder.Store.LoadRunAsync(runId, cancellationToken).ConfigureAwait(false);
            if (checkpoints.Count == 0)
            {
                throw new UnknownRunException($"Run '{runId}' is not in the checkpoint store: only the runs of durable graphs (GraphOptions.Durable) are, in the store they ran with.") { RunId = runId };
            }

            var last = checkpoints[^1];
            if (last.Graph != graph.Identity)
            {
                throw new ArgumentException($"Run '{runId}' is a run of graph '{last.Graph}', not of '{graph.Identity}'.", nameof(runIds));
            }

            if (last.Parent is { } parent)
            {
                throw new ArgumentException($"Run '{runId}' is a child of run '{parent}': a child is resumed by its parent, so name the parent ('{RootOf(parent)}' at the top).", nameof(runIds));
            }

            if (last.IsFinal)
            {
                finished++;
            }
            else
            {
                unfinished.Add(last);
            }
        }

        return await ResumeStoredAsync(network, recorder, new ResumableRuns(unfinished, finished), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The top-level run of a child id: what comes before its first <c>/</c>.</summary>
    private static string RootOf(string runId) => runId.IndexOf('/', StringComparison.Ordinal) is var slash and > 0 ? runId[..slash] : runId;
}

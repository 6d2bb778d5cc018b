using Dataflow.Engine.Checkpoints;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// The durable part of a run, when its graph is durable (<see cref="GraphOptions.Durable"/>): null otherwise, so a run
/// that is not durable pays one null check per transition and nothing more. What it records and when is in
/// <see cref="DurableRun"/>.
/// </summary>
internal sealed partial class RunExecution
{
    /// <summary>A run restored from a checkpoint: its start node is <paramref name="start"/>, and it goes on at <paramref name="current"/>.</summary>
    public RunExecution(string id, Graph graph, INode start, INode current, RunSettings settings, IRunHost host, AdmissionLease lease)
        : this(id, graph, current, settings, host, lease)
    {
        StartNode = start;
        _context = new NodeContext(id, start, _cancellation!.Token, _ownServices as IServiceProvider ?? settings.Services);
    }

    /// <summary>The run's checkpoint state; set once, before the run is dispatched, and then used only by its owner.</summary>
    public DurableRun? Durable { get; set; }

    /// <summary>How many nodes the trace holds (one per node visited; retries not counted).</summary>
    public int TraceLength
    {
        get
        {
            lock (_record)
            {
                var count = 0;
                foreach (var entry in _record)
                {
                    count += entry.Attempt == 1 ? 1 : 0;
                }

                return count;
            }
        }
    }

    /// <summary>Puts the earlier nodes of a checkpointed run's trace back, before its current node. Before dispatch only.</summary>
    public void RestoreTrace(IReadOnlyList<INode> earlier)
    {
        lock (_record)
        {
            _record.InsertRange(0, earlier.Select(node => new TraceEntry(node)));
        }
    }
}

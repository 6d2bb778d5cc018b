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
    /// <summary>The run's checkpoint state; set once, before the run is dispatched, and then used only by its owner.</summary>
    public DurableRun? Durable { get; set; }

    /// <summary>How many nodes the trace holds (one per node visited; retries not counted).</summary>
    public int TraceLength
    {
        get
        {
            var taken = false;
            try
            {
                _lock.Enter(ref taken);
                var count = 0;
                for (var i = 0; i < _traceCount; i++)
                {
                    count += EntryAt(i).Attempt == 1 ? 1 : 0;
                }

                return count;
            }
            finally
            {
                Exit(taken);
            }
        }
    }

    /// <summary>
    /// Puts the earlier nodes of a checkpointed run's trace back, before its current node (the first of them is the
    /// run's start node). Before dispatch only.
    /// </summary>
    public void RestoreTrace(IReadOnlyList<INode> earlier)
    {
        if (earlier.Count == 0)
        {
            return;
        }

        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            var later = new TraceEntry[_traceCount];
            for (var i = 0; i < later.Length; i++)
            {
                later[i] = EntryAt(i);
            }

            _traceCount = 0;
            foreach (var node in earlier)
            {
                Append(new TraceEntry(node));
            }

            foreach (var entry in later)
            {
                Append(entry);
            }
        }
        finally
        {
            Exit(taken);
        }
    }
}

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
                    count += _trace[i].Attempt == 1 ? 1 : 0;
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
            var trace = new TraceEntry[Math.Max(_trace.Length, earlier.Count + _traceCount + 2)];
            for (var i = 0; i < earlier.Count; i++)
            {
                trace[i] = new TraceEntry(earlier[i]);
            }

            Array.Copy(_trace, 0, trace, earlier.Count, _traceCount);
            _trace = trace;
            _traceCount += earlier.Count;
        }
        finally
        {
            Exit(taken);
        }
    }
}

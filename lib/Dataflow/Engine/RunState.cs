using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>Where a run is in its lifecycle: Running → (Waiting) → Done | Failed | Cancelled.</summary>
public enum RunState
{
    /// <summary>Admitted and executing or queued for its next node.</summary>
    Running,

    /// <summary>
    /// Outside its network, holding no slot: at a gate until a value arrives, in a backoff until its next attempt, or
    /// waiting for the child runs of its fan-out or subgraph.
    /// </summary>
    Waiting,

    /// <summary>Reached a terminal node; <see cref="GraphRun.Result"/> holds it.</summary>
    Done,

    /// <summary>A node threw (after its retries), or the run broke a rule such as its iteration limit or deadline; <see cref="GraphRun.Error"/> says why.</summary>
    Failed,

    /// <summary>Cancelled through the engine, the submit token, or engine shutdown.</summary>
    Cancelled,
}

/// <summary>Extensions on <see cref="RunState"/>.</summary>
public static class RunStateExtensions
{
    /// <summary>Whether the state is final (Done, Failed or Cancelled).</summary>
    /// <param name="state">The state.</param>
    /// <returns><see langword="true"/> for a final state.</returns>
    public static bool IsFinal(this RunState state) => state >= RunState.Done;
}

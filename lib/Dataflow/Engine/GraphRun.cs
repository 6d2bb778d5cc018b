using Dataflow.Events;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// One execution of a graph from one start node, as its callers see it: a read-only view, safe to read from any
/// thread while the run goes on. Created by <see cref="GraphEngine.Submit"/>; its state moves
/// Running → (Waiting) → Done | Failed | Cancelled, exactly one final state, and <see cref="Completion"/> finishes
/// when it gets there.
/// </summary>
/// <remarks>
/// The engine's own run type is the only implementation (the constructor is not reachable outside this assembly):
/// it derives from this view, so that a run is one object, and keeps everything that changes behind internal members.
/// </remarks>
public abstract class GraphRun
{
    private protected GraphRun()
    {
    }

    /// <summary>The run's id within its engine: <c>g1</c>, <c>g2</c>, ….</summary>
    public abstract string Id { get; }

    /// <summary>The graph the run executes.</summary>
    public abstract Graph Graph { get; }

    /// <summary>The run's output policy.</summary>
    public abstract OutputPolicy Policy { get; }

    /// <summary>The run's state.</summary>
    public abstract RunState State { get; }

    /// <summary>The node executing or about to execute; after the run ends, the last node it reached.</summary>
    public abstract INode CurrentNode { get; }

    /// <summary>The terminal node, once the run is Done; otherwise <see langword="null"/>. See also <see cref="GetResult{T}"/>.</summary>
    public abstract INode? Result { get; }

    /// <summary>When the run was submitted.</summary>
    public abstract DateTimeOffset StartedAt { get; }

    /// <summary>When the run reached its final state; <see langword="null"/> while it is active.</summary>
    public abstract DateTimeOffset? EndedAt { get; }

    /// <summary>The run's duration so far, or in all once it has ended, from a monotonic clock.</summary>
    public abstract TimeSpan Elapsed { get; }

    /// <summary>Why the run failed or was cancelled, as <c>ExceptionType: message</c>; <see langword="null"/> otherwise.</summary>
    public string? Error => Exception is { } e ? $"{e.GetType().Name}: {e.Message}" : null;

    /// <summary>The exception that failed or cancelled the run; <see langword="null"/> otherwise.</summary>
    public abstract Exception? Exception { get; }

    /// <summary>
    /// The change in the process's resident set size between the run's start and end, in bytes.
    /// Process-wide: concurrent runs see each other's allocations. Read from a sample at most about a millisecond old
    /// (one tick of <see cref="Environment.TickCount64"/>), so a shorter run usually shows 0. 0 while active or when
    /// not tracked.
    /// </summary>
    public abstract long RssDeltaBytes { get; }

    /// <summary>Every node the run visited, in order, the start node first and the terminal node last; kept on failure.</summary>
    public abstract IReadOnlyList<INode> Trace { get; }

    /// <summary>One timing per node executed, in order.</summary>
    public abstract IReadOnlyList<NodeTiming> NodeTimings { get; }

    /// <summary>One timing per dependency computed for the run (each at most once), in the order they finished.</summary>
    public abstract IReadOnlyList<DependencyTiming> DepTimings { get; }

    /// <summary>
    /// The id of the run this one is a child of (a fan-out's child, or a subgraph's run), such as <c>g7</c> for
    /// <c>g7/3</c>; <see langword="null"/> for a run submitted on its own.
    /// </summary>
    public abstract string? ParentId { get; }

    /// <summary>
    /// The run's fan-outs and subgraphs so far, in order, each with its children's ids and how they ended: the children
    /// part of the run's trace summary. Empty for a run that started no children. A run resumed from a checkpoint lists
    /// the fan-out it waited on when its engine stopped and those after it; earlier ones are in its checkpoints.
    /// </summary>
    public abstract IReadOnlyList<ChildRunGroup> Children { get; }

    /// <summary>The gates the run waits at now, in id order; empty unless it is <see cref="RunState.Waiting"/>.</summary>
    public abstract IReadOnlyList<PendingGate> PendingGates { get; }

    /// <summary>Finishes when the run reaches its final state. It never faults: read <see cref="State"/> and <see cref="Exception"/>.</summary>
    public abstract Task Completion { get; }

    /// <summary>
    /// Waits until the run waits at gates, and returns them (resolve them with <see cref="GraphEngine.ResolveGate"/>).
    /// Returns at once when it waits already, and with an empty list when the run ends without waiting at a gate.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The gates the run waits at, in id order; empty when it ended instead.</returns>
    public abstract Task<IReadOnlyList<PendingGate>> WaitForGatesAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Cancels the run, like <see cref="GraphEngine.Cancel"/>: a run in a buffer or at a gate ends as Cancelled at
    /// once; an executing node sees its token cancelled, and the run ends as Cancelled when the node returns.
    /// </summary>
    /// <returns><see langword="true"/> when the run was still active.</returns>
    public abstract bool Cancel();

    /// <summary>The terminal node the run ended at, as a <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The terminal node type (or a base type of it) expected.</typeparam>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidOperationException">The run is not Done, or its result is not a <typeparamref name="T"/>; the message says which.</exception>
    public T GetResult<T>()
        where T : INode
    {
        var state = State;
        return state != RunState.Done
            ? throw new InvalidOperationException(state.IsFinal()
                ? $"Run {Id} has no result: it ended {state} ({Error})."
                : $"Run {Id} has no result yet: it is {state}; await its Completion first.")
            : Result is T result
                ? result
                : throw new InvalidOperationException($"Run {Id} ended at a '{Graph.NameOf(Result!.GetType())}', not a '{typeof(T).Name}'.");
    }

    /// <summary>Gets the terminal node the run ended at when the run is Done and the node is a <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The terminal node type (or a base type of it) expected.</typeparam>
    /// <param name="result">The result, or the default when this returns <see langword="false"/>.</param>
    /// <returns>Whether the run is Done with a <typeparamref name="T"/>.</returns>
    public bool TryGetResult<T>(out T result)
        where T : INode
    {
        if (State == RunState.Done && Result is T typed)
        {
            result = typed;
            return true;
        }

        result = default!;
        return false;
    }
}

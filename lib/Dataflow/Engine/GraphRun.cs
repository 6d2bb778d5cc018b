using Dataflow.Events;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// One execution of a graph from one start node, as its callers see it: a read-only view, safe to read from any
/// thread while the run goes on. Created by <see cref="GraphEngine.Submit"/>; its state moves
/// Running → (Waiting) → Done | Failed | Cancelled, exactly one final state, and <see cref="Completion"/> finishes
/// when it gets there.
/// </summary>
public sealed class GraphRun
{
    private readonly RunExecution _run;

    internal GraphRun(RunExecution run) => _run = run;

    /// <summary>The run's id within its engine: <c>g1</c>, <c>g2</c>, ….</summary>
    public string Id => _run.Id;

    /// <summary>The graph the run executes.</summary>
    public Graph Graph => _run.Graph;

    /// <summary>The run's output policy.</summary>
    public OutputPolicy Policy => _run.Policy;

    /// <summary>The run's state.</summary>
    public RunState State => _run.State;

    /// <summary>The node executing or about to execute; after the run ends, the last node it reached.</summary>
    public INode CurrentNode => _run.CurrentNode;

    /// <summary>The terminal node, once the run is Done; otherwise <see langword="null"/>. See also <see cref="GetResult{T}"/>.</summary>
    public INode? Result => _run.Result;

    /// <summary>When the run was submitted.</summary>
    public DateTimeOffset StartedAt => _run.StartedAt;

    /// <summary>When the run reached its final state; <see langword="null"/> while it is active.</summary>
    public DateTimeOffset? EndedAt => _run.EndedAt;

    /// <summary>The run's duration so far, or in all once it has ended, from a monotonic clock.</summary>
    public TimeSpan Elapsed => _run.Elapsed;

    /// <summary>Why the run failed or was cancelled, as <c>ExceptionType: message</c>; <see langword="null"/> otherwise.</summary>
    public string? Error => Exception is { } e ? $"{e.GetType().Name}: {e.Message}" : null;

    /// <summary>The exception that failed or cancelled the run; <see langword="null"/> otherwise.</summary>
    public Exception? Exception => _run.Exception;

    /// <summary>
    /// The change in the process's resident set size between the run's start and end, in bytes.
    /// Process-wide: concurrent runs see each other's allocations. 0 while active or when not tracked.
    /// </summary>
    public long RssDeltaBytes => _run.RssDeltaBytes;

    /// <summary>Every node the run visited, in order, the start node first and the terminal node last; kept on failure.</summary>
    public IReadOnlyList<INode> Trace => _run.Trace;

    /// <summary>One timing per node executed, in order.</summary>
    public IReadOnlyList<NodeTiming> NodeTimings => _run.NodeTimings;

    /// <summary>One timing per dependency computed for the run (each at most once), in the order they finished.</summary>
    public IReadOnlyList<DependencyTiming> DepTimings => _run.DepTimings;

    /// <summary>The gates the run waits at now, in id order; empty unless it is <see cref="RunState.Waiting"/>.</summary>
    public IReadOnlyList<PendingGate> PendingGates => _run.Gates;

    /// <summary>Finishes when the run reaches its final state. It never faults: read <see cref="State"/> and <see cref="Exception"/>.</summary>
    public Task Completion => _run.Completion;

    /// <summary>
    /// Waits until the run waits at gates, and returns them (resolve them with <see cref="GraphEngine.ResolveGate"/>).
    /// Returns at once when it waits already, and with an empty list when the run ends without waiting at a gate.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>The gates the run waits at, in id order; empty when it ended instead.</returns>
    public Task<IReadOnlyList<PendingGate>> WaitForGatesAsync(CancellationToken cancellationToken = default)
        => _run.WaitForGatesAsync(cancellationToken);

    /// <summary>
    /// Cancels the run, like <see cref="GraphEngine.Cancel"/>: a run in a buffer or at a gate ends as Cancelled at
    /// once; an executing node sees its token cancelled, and the run ends as Cancelled when the node returns.
    /// </summary>
    /// <returns><see langword="true"/> when the run was still active.</returns>
    public bool Cancel() => _run.Cancel();

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

    /// <inheritdoc/>
    public override string ToString() => _run.ToString();
}

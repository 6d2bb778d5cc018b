using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// What a node sees of its run while it executes: identity, cancellation and progress.
/// One instance serves a run from start to end.
/// </summary>
public sealed class NodeContext
{
    private readonly IRunSource _run;

    /// <summary>A context of no engine's run (a baseline or a test calling a node directly): its id, start node and token as given.</summary>
    internal NodeContext(string runId, INode startNode, CancellationToken cancellationToken, IServiceProvider? services)
        : this(new DetachedRun(runId, startNode, cancellationToken, services))
    {
    }

    /// <summary>
    /// A context that reads everything from the run itself (id, start node, iteration, attempt, token, services), so it
    /// is the smallest object there is: one per run, made before anyone knows whether a node will read it.
    /// </summary>
    internal NodeContext(IRunSource run) => _run = run;

    /// <summary>The id of the run, such as <c>g1</c>.</summary>
    public string RunId => _run.Id;

    /// <summary>
    /// Cancelled when the run is cancelled: through <c>GraphEngine.Cancel</c>, the token given at submit,
    /// engine shutdown, or the run's deadline; for a node with a timeout, also when its attempt passes the timeout
    /// (the token is then the attempt's own). Pass it to everything the node awaits.
    /// </summary>
    public CancellationToken CancellationToken => _run.NodeToken;

    /// <summary>
    /// The node the run started from, as the caller supplied it: where a run's own inputs live, and so what a
    /// dependency (computed once per run) usually reads.
    /// </summary>
    public INode StartNode => _run.StartNode;

    /// <summary>
    /// The services the run's nodes and inputs resolve from: the run's own when the engine makes them
    /// (<see cref="Dataflow.Engine.GraphEngineOptions.RunServices"/>; a fan-out's children use their parent's), else the
    /// engine's (<see cref="Dataflow.Engine.GraphEngineOptions.Services"/>), if any.
    /// </summary>
    public IServiceProvider? Services => _run.Services;

    /// <summary>How many nodes the run has executed before this one (0 for the start node); retries do not count.</summary>
    public int Iteration => _run.Iteration;

    /// <summary>Which attempt of the current node this is, from 1; more than 1 when the node is retried.</summary>
    public int Attempt => _run.Attempt;

    /// <summary>The run of a context made outside any engine: fixed id, start node and token, the first attempt of the first node.</summary>
    private sealed class DetachedRun(string id, INode startNode, CancellationToken token, IServiceProvider? services) : IRunSource
    {
        public string Id => id;

        public INode StartNode => startNode;

        public CancellationToken NodeToken => token;

        public IServiceProvider? Services => services;

        public int Iteration => 0;

        public int Attempt => 1;
    }
}

/// <summary>The run a context belongs to, which it reads its id, start node and token from.</summary>
internal interface IRunSource
{
    /// <summary>The run's id.</summary>
    string Id { get; }

    /// <summary>The node the run started from.</summary>
    INode StartNode { get; }

    /// <summary>
    /// The token the executing node sees: its timed attempt's own, or else the run's, whose token source the run makes
    /// only when this is first read.
    /// </summary>
    CancellationToken NodeToken { get; }

    /// <summary>The services the run's nodes and inputs resolve from.</summary>
    IServiceProvider? Services { get; }

    /// <summary>How many nodes the run executed before the one executing now.</summary>
    int Iteration { get; }

    /// <summary>The attempt of the node executing now, from 1.</summary>
    int Attempt { get; }
}

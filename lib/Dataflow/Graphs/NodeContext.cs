using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// What a node sees of its run while it executes: identity, cancellation and progress.
/// One instance serves a run from start to end.
/// </summary>
public sealed class NodeContext
{
    internal NodeContext(string runId, INode startNode, CancellationToken cancellationToken, IServiceProvider? services)
    {
        RunId = runId;
        StartNode = startNode;
        CancellationToken = cancellationToken;
        Services = services;
    }

    /// <summary>The id of the run, such as <c>g1</c>.</summary>
    public string RunId { get; }

    /// <summary>
    /// Cancelled when the run is cancelled: through <c>GraphEngine.Cancel</c>, the token given at submit,
    /// engine shutdown, or the run's deadline; for a node with a timeout, also when its attempt passes the timeout
    /// (the token is then the attempt's own). Pass it to everything the node awaits.
    /// </summary>
    public CancellationToken CancellationToken { get; internal set; }

    /// <summary>
    /// The node the run started from, as the caller supplied it: where a run's own inputs live, and so what a
    /// dependency (computed once per run) usually reads.
    /// </summary>
    public INode StartNode { get; }

    /// <summary>The engine's services (<see cref="Dataflow.Engine.GraphEngineOptions.Services"/>), if any.</summary>
    public IServiceProvider? Services { get; }

    /// <summary>How many nodes the run has executed before this one (0 for the start node); retries do not count.</summary>
    public int Iteration { get; internal set; }

    /// <summary>Which attempt of the current node this is, from 1; more than 1 when the node is retried.</summary>
    public int Attempt { get; internal set; } = 1;
}

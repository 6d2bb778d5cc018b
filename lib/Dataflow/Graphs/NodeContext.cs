using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// What a node sees of its run while it executes: identity, cancellation and progress.
/// One instance serves a run from start to end.
/// </summary>
public sealed class NodeContext
{
    private readonly IRunSource _run;
    private CancellationToken _token;
    private bool _ownToken;

    /// <summary>A context of no engine's run (a baseline or a test calling a node directly): its id, start node and token as given.</summary>
    internal NodeContext(string runId, INode startNode, CancellationToken cancellationToken, IServiceProvider? services)
        : this(new DetachedRun(runId, startNode, cancellationToken), services)
    {
    }

    /// <summary>
    /// A context that reads its run's id, start node, iteration, attempt and token from the run itself (a small object:
    /// one per run), the token only when a node asks for it (most never do).
    /// </summary>
    internal NodeContext(IRunSource run, IServiceProvider? services)
    {
        _run = run;
        Services = services;
    }

    /// <summary>The id of the run, such as <c>g1</c>.</summary>
    public string RunId => _run.Id;

    /// <summary>
    /// Cancelled when the run is cancelled: through <c>GraphEngine.Cancel</c>, the token given at submit,
    /// engine shutdown, or the run's deadline; for a node with a timeout, also when its attempt passes the timeout
    /// (the token is then the attempt's own). Pass it to everything the node awaits.
    /// </summary>
    public CancellationToken CancellationToken => _ownToken ? _token : _run.RunToken;

    /// <summary>
    /// The node the run started from, as the caller supplied it: where a run's own inputs live, and so what a
    /// dependency (computed once per run) usually reads.
    /// </summary>
    public INode StartNode => _run.StartNode;

    /// <summary>The engine's services (<see cref="Dataflow.Engine.GraphEngineOptions.Services"/>), if any.</summary>
    public IServiceProvider? Services { get; }

    /// <summary>How many nodes the run has executed before this one (0 for the start node); retries do not count.</summary>
    public int Iteration => _run.Iteration;

    /// <summary>Which attempt of the current node this is, from 1; more than 1 when the node is retried.</summary>
    public int Attempt => _run.Attempt;

    /// <summary>Gives the node <paramref name="token"/> instead of the run's (a timed attempt's own token).</summary>
    internal void UseToken(CancellationToken token)
    {
        _token = token;
        _ownToken = true;
    }

    /// <summary>Gives the node the run's token again, after <see cref="UseToken"/>.</summary>
    internal void UseRunToken()
    {
        _token = default;
        _ownToken = false;
    }

    /// <summary>The run of a context made outside any engine: fixed id, start node and token, the first attempt of the first node.</summary>
    private sealed class DetachedRun(string id, INode startNode, CancellationToken token) : IRunSource
    {
        public string Id => id;

        public INode StartNode => startNode;

        public CancellationToken RunToken => token;

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

    /// <summary>The run's token; the run makes its token source only when this is first read.</summary>
    CancellationToken RunToken { get; }

    /// <summary>How many nodes the run executed before the one executing now.</summary>
    int Iteration { get; }

    /// <summary>The attempt of the node executing now, from 1.</summary>
    int Attempt { get; }
}

using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// What a node sees of its run while it executes: identity, cancellation and progress.
/// One instance serves a run from start to end.
/// </summary>
public sealed class NodeContext
{
    private readonly IRunSource? _run;
    private readonly string? _runId;
    private readonly INode? _startNode;
    private CancellationToken _token;
    private bool _ownToken;

    internal NodeContext(string runId, INode startNode, CancellationToken cancellationToken, IServiceProvider? services)
    {
        _runId = runId;
        _startNode = startNode;
        _token = cancellationToken;
        _ownToken = true;
        Services = services;
    }

    /// <summary>
    /// A context that reads its run's id, start node and token from the run itself (one object less to fill in), the
    /// token only when a node asks for it (most never do).
    /// </summary>
    internal NodeContext(IRunSource run, IServiceProvider? services)
    {
        _run = run;
        Services = services;
    }

    /// <summary>The id of the run, such as <c>g1</c>.</summary>
    public string RunId => _run?.Id ?? _runId!;

    /// <summary>
    /// Cancelled when the run is cancelled: through <c>GraphEngine.Cancel</c>, the token given at submit,
    /// engine shutdown, or the run's deadline; for a node with a timeout, also when its attempt passes the timeout
    /// (the token is then the attempt's own). Pass it to everything the node awaits.
    /// </summary>
    public CancellationToken CancellationToken => _ownToken || _run is null ? _token : _run.RunToken;

    /// <summary>
    /// The node the run started from, as the caller supplied it: where a run's own inputs live, and so what a
    /// dependency (computed once per run) usually reads.
    /// </summary>
    public INode StartNode => _run?.StartNode ?? _startNode!;

    /// <summary>The engine's services (<see cref="Dataflow.Engine.GraphEngineOptions.Services"/>), if any.</summary>
    public IServiceProvider? Services { get; }

    /// <summary>How many nodes the run has executed before this one (0 for the start node); retries do not count.</summary>
    public int Iteration { get; internal set; }

    /// <summary>Which attempt of the current node this is, from 1; more than 1 when the node is retried.</summary>
    public int Attempt { get; internal set; } = 1;

    /// <summary>Gives the node <paramref name="token"/> instead of the run's (a timed attempt's own token).</summary>
    internal void UseToken(CancellationToken token)
    {
        _token = token;
        _ownToken = true;
    }

    /// <summary>Gives the node the run's token again, after <see cref="UseToken"/>.</summary>
    internal void UseRunToken()
    {
        if (_run is not null)
        {
            _token = default;
            _ownToken = false;
        }
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
}

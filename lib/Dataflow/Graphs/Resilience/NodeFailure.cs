namespace Dataflow.Graphs.Resilience;

/// <summary>
/// What a recovery node receives (see <see cref="RecoverWithAttribute"/>): the error that failed a node for good, the
/// node itself, and how many attempts it had.
/// </summary>
public sealed class NodeFailure
{
    internal NodeFailure(string runId, Exception error, INode failedNode, string nodeName, int attempts)
    {
        RunId = runId;
        Error = error;
        FailedNode = failedNode;
        NodeName = nodeName;
        Attempts = attempts;
    }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>What the last attempt threw (a <see cref="Dataflow.Engine.Resilience.NodeTimeoutException"/> for a timeout).</summary>
    public Exception Error { get; }

    /// <summary>The node that failed, with the inputs it was given.</summary>
    public INode FailedNode { get; }

    /// <summary>The failed node's name in the graph.</summary>
    public string NodeName { get; }

    /// <summary>How many attempts the node had, the last one included.</summary>
    public int Attempts { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{NodeName} failed after {Attempts} attempt(s): {Error.GetType().Name}: {Error.Message}";
}

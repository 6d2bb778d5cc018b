using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>A run executed more nodes than its iteration limit allows.</summary>
public sealed class IterationLimitExceededException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="limit">The limit it exceeded.</param>
    public IterationLimitExceededException(string runId, int limit)
        : base($"Run {runId} exceeded its iteration limit of {limit} nodes (RunOptions.MaxIterations); raise the limit or check the graph for a loop that does not end.")
    {
        RunId = runId;
        Limit = limit;
    }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>The limit it exceeded.</summary>
    public int Limit { get; }
}

/// <summary><c>GraphEngine.Submit</c> refused a run because its graph already has the most runs in flight.</summary>
public sealed class RunRejectedException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Why the run was refused.</param>
    public RunRejectedException(string message)
        : base(message)
    {
    }
}

/// <summary>A node broke the graph's contract at run time, such as by returning null or a type outside the graph.</summary>
public sealed class NodeContractException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What the node did wrong.</param>
    public NodeContractException(string message)
        : base(message)
    {
    }
}

/// <summary>A dependency failed or could not be created; the original exception is the inner exception.</summary>
public sealed class DependencyException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="dependency">The dependency's name.</param>
    /// <param name="node">The node it was computed for.</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public DependencyException(string dependency, string node, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Dependency = dependency;
        Node = node;
    }

    /// <summary>The dependency's name.</summary>
    public string Dependency { get; }

    /// <summary>The node it was computed for.</summary>
    public string Node { get; }
}

/// <summary>A recall found no match in the run's trace.</summary>
public sealed class RecallException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="node">The node whose input was recalled.</param>
    /// <param name="property">The input.</param>
    /// <param name="type">The type recalled.</param>
    public RecallException(string node, string property, Type type)
        : base($"Node '{node}' recalls '{property}' of type '{TypeNames.Of(type)}', but no earlier node in the run's trace is or holds one.")
    {
        Node = node;
        Property = property;
        Type = type;
    }

    /// <summary>The node whose input was recalled.</summary>
    public string Node { get; }

    /// <summary>The input.</summary>
    public string Property { get; }

    /// <summary>The type recalled.</summary>
    public Type Type { get; }
}

/// <summary>A transition effect threw; the original exception is the inner exception.</summary>
public sealed class EffectException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="effect">The effect's name.</param>
    /// <param name="innerException">The cause.</param>
    public EffectException(string effect, Exception innerException)
        : base($"Effect '{effect}' failed: {innerException?.GetType().Name}: {innerException?.Message}", innerException)
    {
        Effect = effect;
    }

    /// <summary>The effect's name.</summary>
    public string Effect { get; }
}

/// <summary>
/// A child run of a fail-fast fan-out, or a subgraph's run, did not end Done, so its parent's node failed: the child's
/// own exception is the inner exception. The parent's siblings were cancelled and the join was not called.
/// </summary>
public sealed class ChildRunFailedException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="runId">The parent run.</param>
    /// <param name="node">The parent's node that started the children.</param>
    /// <param name="childRunId">The child that did not end Done.</param>
    /// <param name="childState">How it ended.</param>
    /// <param name="innerException">Why it ended so.</param>
    public ChildRunFailedException(string runId, string node, string childRunId, RunState childState, Exception? innerException)
        : base($"Run {runId}: child run {childRunId} of node '{node}' ended {childState}{(innerException is null ? string.Empty : $" ({innerException.GetType().Name}: {innerException.Message})")}, so its siblings were cancelled and the join was not called; use FanOutPolicy.Settle to hand failures to the join, or a recovery route on '{node}'.", innerException)
    {
        RunId = runId;
        Node = node;
        ChildRunId = childRunId;
        ChildState = childState;
    }

    /// <summary>The parent run.</summary>
    public string RunId { get; }

    /// <summary>The parent's node that started the children.</summary>
    public string Node { get; }

    /// <summary>The child that did not end Done.</summary>
    public string ChildRunId { get; }

    /// <summary>How the child ended: Failed or Cancelled.</summary>
    public RunState ChildState { get; }
}

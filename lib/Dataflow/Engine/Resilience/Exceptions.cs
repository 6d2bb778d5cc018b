using System.Globalization;

namespace Dataflow.Engine.Resilience;

/// <summary>
/// An attempt of a node ran past its timeout (<see cref="Dataflow.Graphs.NodeOptions.Timeout"/>,
/// <see cref="Dataflow.Graphs.Resilience.NodeTimeoutAttribute"/>). Retried like any other failure.
/// </summary>
public sealed class NodeTimeoutException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="node">The node's name.</param>
    /// <param name="timeout">The limit it passed.</param>
    /// <param name="attempt">The attempt that timed out, from 1.</param>
    /// <param name="innerException">What the node threw when its token was cancelled, if it noticed.</param>
    public NodeTimeoutException(string node, TimeSpan timeout, int attempt, Exception? innerException = null)
        : base($"Node '{node}' did not finish within its timeout of {Durations.Format(timeout)} (attempt {attempt}); its token was cancelled. Raise the timeout (NodeOptions.Timeout or [NodeTimeout]) or make the node faster.", innerException)
    {
        Node = node;
        Timeout = timeout;
        Attempt = attempt;
    }

    /// <summary>The node's name.</summary>
    public string Node { get; }

    /// <summary>The limit it passed.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The attempt that timed out, from 1.</summary>
    public int Attempt { get; }
}

/// <summary>A run passed its deadline (<see cref="RunOptions.Deadline"/>) and ended as Failed, wherever it was.</summary>
public sealed class RunDeadlineExceededException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="deadline">Its deadline, from submit.</param>
    /// <param name="node">The node the run was at.</param>
    public RunDeadlineExceededException(string runId, TimeSpan deadline, string node)
        : base($"Run {runId} passed its deadline of {Durations.Format(deadline)} from submit (RunOptions.Deadline) at node '{node}'; raise the deadline or make the run faster.")
    {
        RunId = runId;
        Deadline = deadline;
        Node = node;
    }

    /// <summary>The run.</summary>
    public string RunId { get; }

    /// <summary>Its deadline, from submit.</summary>
    public TimeSpan Deadline { get; }

    /// <summary>The node the run was at.</summary>
    public string Node { get; }
}

/// <summary>A gate with a timeout and no default (<see cref="Dataflow.Graphs.Inputs.GateAttribute.TimeoutMs"/>) got no value in time.</summary>
public sealed class GateTimeoutException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="gateId">The gate's id.</param>
    /// <param name="node">The node whose input it is.</param>
    /// <param name="field">The input's property name.</param>
    /// <param name="timeout">How long it waited.</param>
    public GateTimeoutException(string gateId, string node, string field, TimeSpan timeout)
        : base($"Gate {gateId} ('{node}.{field}') got no value within its timeout of {Durations.Format(timeout)}; resolve it sooner, raise TimeoutMs, or give it a Default with OnTimeout = UseDefault.")
    {
        GateId = gateId;
        Node = node;
        Field = field;
        Timeout = timeout;
    }

    /// <summary>The gate's id.</summary>
    public string GateId { get; }

    /// <summary>The node whose input it is.</summary>
    public string Node { get; }

    /// <summary>The input's property name.</summary>
    public string Field { get; }

    /// <summary>How long it waited.</summary>
    public TimeSpan Timeout { get; }
}

/// <summary>Durations as people read them in messages: <c>250 ms</c>, <c>1.5 s</c>.</summary>
internal static class Durations
{
    public static string Format(TimeSpan span)
        => span.TotalMilliseconds < 1000
            ? span.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms"
            : span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}

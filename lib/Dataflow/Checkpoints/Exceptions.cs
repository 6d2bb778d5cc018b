namespace Dataflow.Checkpoints;

/// <summary>The base type of the errors of durable runs: checkpoints, resume and rerun.</summary>
public class CheckpointException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public CheckpointException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause.</param>
    public CheckpointException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Resume or rerun was refused: the store's runs were checkpointed by a graph whose node types differ from the
/// graph given now (a node type, a stored member or an edge was added, removed or changed). Nothing was resumed.
/// </summary>
public sealed class GraphChangedException : CheckpointException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What changed.</param>
    public GraphChangedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GraphChangedException()
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What changed.</param>
    /// <param name="innerException">The cause.</param>
    public GraphChangedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Each difference, one per line of the message.</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];
}

/// <summary>A rerun named a run that the checkpoint store does not know (never durable, or another store).</summary>
public sealed class UnknownRunException : CheckpointException
{
    /// <summary>Creates the exception.</summary>
    public UnknownRunException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Which run, and where it was looked for.</param>
    public UnknownRunException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">Which run, and where it was looked for.</param>
    /// <param name="innerException">The cause.</param>
    public UnknownRunException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The run id that was asked for.</summary>
    public string? RunId { get; init; }
}

/// <summary>
/// The store has no checkpoint tables: a file of an older schema opened read-only (open it once for writing to
/// migrate it), or a backend without checkpoints.
/// </summary>
public sealed class CheckpointsUnavailableException : CheckpointException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointsUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Why, and what to do.</param>
    public CheckpointsUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">Why, and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public CheckpointsUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// How a child run that failed before a crash reaches its fan-out's join (or its parent's <c>ChildRunFailedException</c>)
/// after a resume: its checkpoint keeps the failure's type name and message, not the exception itself.
/// </summary>
public sealed class RecordedFailureException : CheckpointException
{
    /// <summary>Creates the exception.</summary>
    public RecordedFailureException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The recorded failure's message.</param>
    public RecordedFailureException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">The recorded failure's message.</param>
    /// <param name="innerException">The cause.</param>
    public RecordedFailureException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The name of the exception type that the run failed with, as recorded (such as <c>InvalidOperationException</c>).</summary>
    public string? RecordedType { get; init; }

    /// <summary>The run that failed.</summary>
    public string? RunId { get; init; }
}

namespace Dataflow;

/// <summary>The base type of every exception that Dataflow throws or records on a run.</summary>
public class DataflowException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DataflowException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public DataflowException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause.</param>
    public DataflowException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A graph failed validation when it was built. <see cref="Exception.Message"/> lists every problem,
/// each naming its node; <see cref="Errors"/> holds them one by one.
/// </summary>
public sealed class InvalidGraphException : DataflowException
{
    /// <summary>Creates the exception from a list of problems.</summary>
    /// <param name="errors">The problems, each naming its node.</param>
    public InvalidGraphException(IReadOnlyList<string> errors)
        : base(Format(errors))
    {
        Errors = errors;
    }

    /// <summary>Every problem found, each naming its node.</summary>
    public IReadOnlyList<string> Errors { get; }

    private static string Format(IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Count == 1
            ? "Invalid graph: " + errors[0]
            : $"Invalid graph ({errors.Count} problems):{Environment.NewLine}- " + string.Join(Environment.NewLine + "- ", errors);
    }
}

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

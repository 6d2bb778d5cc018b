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

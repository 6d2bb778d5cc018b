namespace Dataflow.Npgsql.Jobs;

/// <summary>A job of that name is already in the queue; nothing was enqueued. Choose another name.</summary>
public sealed class JobExistsException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public JobExistsException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Which job exists and what to do.</param>
    public JobExistsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">Which job exists and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public JobExistsException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The queue has no job of that name (for that graph).</summary>
public sealed class UnknownJobException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public UnknownJobException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">Which job is unknown, and the jobs there are.</param>
    public UnknownJobException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">Which job is unknown.</param>
    /// <param name="innerException">The cause.</param>
    public UnknownJobException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

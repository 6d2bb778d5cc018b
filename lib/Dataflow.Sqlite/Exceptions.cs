namespace Dataflow.Sqlite;

/// <summary>The base type of every exception that the SQLite session store throws or reports.</summary>
public class StoreException : DataflowException
{
    /// <summary>Creates the exception.</summary>
    public StoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public StoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause, often a <c>SqliteException</c>.</param>
    public StoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A search in raw FTS5 mode (<see cref="SearchOptions.Fts"/>) was given a query that FTS5 cannot parse.
/// Plain-text searches never throw this: their text is quoted term by term.
/// </summary>
public sealed class InvalidSearchQueryException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public InvalidSearchQueryException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public InvalidSearchQueryException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause.</param>
    public InvalidSearchQueryException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The query that FTS5 rejected.</summary>
    public string? Query { get; private init; }

    internal static InvalidSearchQueryException For(string query, Exception innerException)
        => new($"The FTS5 query '{query}' is not valid FTS5 syntax ({innerException.Message}). Fix the query, or search it as plain text (SearchOptions.Fts = false).", innerException)
        {
            Query = query,
        };
}

/// <summary>
/// <see cref="SessionStore.Record"/> found the store's queue full. Nothing was recorded and nothing was dropped:
/// retry later, or use <c>SessionStore.RecordAsync</c>, which waits for room.
/// </summary>
public sealed class StoreFullException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public StoreFullException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public StoreFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause.</param>
    public StoreFullException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

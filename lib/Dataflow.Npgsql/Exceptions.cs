namespace Dataflow.Npgsql;

/// <summary>The base type of every exception that the PostgreSQL session store throws or reports.</summary>
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
    /// <param name="innerException">The cause, often an <c>NpgsqlException</c>.</param>
    public StoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A search in raw tsquery syntax (<see cref="SearchSyntax.TsQuery"/>) was given a query that PostgreSQL cannot parse.
/// Plain and web searches never throw this: their text is only ever passed to <c>plainto_tsquery</c> and <c>websearch_to_tsquery</c>.</summary>
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
    /// <param name="innerException">The cause, often an <c>NpgsqlException</c>.</param>
    public InvalidSearchQueryException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The query that PostgreSQL rejected.</summary>
    public string? Query { get; private init; }

    internal static InvalidSearchQueryException For(string query, Exception innerException)
        => new($"The tsquery '{query}' is not valid tsquery syntax ({innerException.Message}). Fix the query, or search it as plain text (SearchOptions.Syntax = SearchSyntax.Plain).", innerException)
        {
            Query = query,
        };
}

/// <summary><see cref="PostgresSessionStore.Record"/> found the store's queue full. Nothing was recorded and nothing was dropped:
/// retry later, or use <c>PostgresSessionStore.RecordAsync</c>, which waits for room.</summary>
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
    /// <param name="innerException">The cause, often an <c>NpgsqlException</c>.</param>
    public StoreFullException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The server could not be reached or refused the work for a reason that passes by itself (connection lost, server starting
/// or shutting down, too many connections, a serialization failure). Transient: the writer retries a batch that fails with
/// it until it goes through, and reports the stall in <see cref="PostgresSessionStore.Health"/>.</summary>
public sealed class StoreUnavailableException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public StoreUnavailableException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause, often an <c>NpgsqlException</c>.</param>
    public StoreUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The store's schema in the database holds tables that are not a Dataflow session store's (no version table, or
/// tables with other columns). Nothing was written to it.</summary>
public sealed class NotAStoreException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public NotAStoreException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public NotAStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause, often an <c>NpgsqlException</c>.</param>
    public NotAStoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A read-only <see cref="PostgresSessionHistory"/> found no store in the database: its schema does not exist or
/// holds no tables. A read-only view never creates one.</summary>
public sealed class StoreNotFoundException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public StoreNotFoundException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public StoreNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause, often an <c>NpgsqlException</c>.</param>
    public StoreNotFoundException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The store was written by a newer release of Dataflow (its schema version is above the versions this release knows).
/// Nothing was written to it.</summary>
public sealed class StoreSchemaTooNewException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public StoreSchemaTooNewException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public StoreSchemaTooNewException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause, often an <c>NpgsqlException</c>.</param>
    public StoreSchemaTooNewException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The database's schema version.</summary>
    public long DatabaseVersion { get; init; }

    /// <summary>The newest schema version this release knows.</summary>
    public long KnownVersion { get; init; }
}

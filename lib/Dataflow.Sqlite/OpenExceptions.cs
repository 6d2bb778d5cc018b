namespace Dataflow.Sqlite;

/// <summary>
/// The database is locked by another process (SQLite <c>SQLITE_BUSY</c> / <c>SQLITE_LOCKED</c> past
/// <see cref="SessionStoreOptions.BusyTimeout"/>). Transient: the writer retries a batch that fails with it until it
/// goes through, and reports the stall in <see cref="SessionStore.Health"/>.
/// </summary>
public sealed class StoreLockedException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public StoreLockedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public StoreLockedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause, a <c>SqliteException</c>.</param>
    public StoreLockedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The store cannot be written: the database file is read-only, or (<see cref="DirectoryIsReadOnly"/>) its folder is,
/// so SQLite cannot create the file or its <c>-wal</c> and <c>-shm</c> files beside it. Thrown by
/// <see cref="SessionStore"/> before anything is created; <see cref="SessionHistory"/> can still read such a file.
/// </summary>
public sealed class StoreReadOnlyException : StoreException
{
    /// <summary>Creates the exception.</summary>
    public StoreReadOnlyException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    public StoreReadOnlyException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do about it.</param>
    /// <param name="innerException">The cause, often a <c>SqliteException</c>.</param>
    public StoreReadOnlyException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>True when the folder is read-only (the file itself may be writable); false when the file is.</summary>
    public bool DirectoryIsReadOnly { get; init; }
}

/// <summary>
/// The file exists and is not empty, but it is not a Dataflow session store: not an SQLite database, or one without
/// the store's tables, or whose tables have other columns. Nothing was written to it.
/// </summary>
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
    /// <param name="innerException">The cause.</param>
    public NotAStoreException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The store was written by a newer release of Dataflow (its schema version is above the versions this
/// release knows). Nothing was written to it.</summary>
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
    /// <param name="innerException">The cause.</param>
    public StoreSchemaTooNewException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The file's schema version.</summary>
    public long FileVersion { get; init; }

    /// <summary>The newest schema version this release knows.</summary>
    public long KnownVersion { get; init; }
}

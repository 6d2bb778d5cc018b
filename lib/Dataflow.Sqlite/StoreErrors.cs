using Microsoft.Data.Sqlite;
using static SQLitePCL.raw;

namespace Dataflow.Sqlite;

/// <summary>Turns SQLite's error codes into the store's exceptions; branches on codes, never on message text.</summary>
internal static class StoreErrors
{
    /// <summary>SQLITE_READONLY_DIRECTORY: SQLITE_READONLY | (6 &lt;&lt; 8), the folder does not let SQLite create a journal or -wal file.</summary>
    private const int ReadOnlyDirectoryCode = SQLITE_READONLY | (6 << 8);

    /// <summary>Whether <paramref name="exception"/> is SQLite saying another connection holds the lock.</summary>
    public static bool IsLocked(SqliteException exception) => exception.SqliteErrorCode is SQLITE_BUSY or SQLITE_LOCKED;

    /// <summary>The store exception for <paramref name="exception"/>, raised while <paramref name="doing"/> the file at <paramref name="path"/>.</summary>
    public static StoreException From(SqliteException exception, string path, string doing)
    {
        var code = $"(SQLite error {exception.SqliteErrorCode}, extended {exception.SqliteExtendedErrorCode})";
        if (IsLocked(exception))
        {
            return new StoreLockedException(
                $"Could not {doing} the session store '{path}': the database is locked by another process {code}. " +
                "Wait for the other process, or raise SessionStoreOptions.BusyTimeout.",
                exception);
        }

        if (exception.SqliteExtendedErrorCode == ReadOnlyDirectoryCode || (exception.SqliteErrorCode == SQLITE_CANTOPEN && File.Exists(path)))
        {
            return ReadOnlyDirectory(path, exception);
        }

        if (exception.SqliteErrorCode == SQLITE_READONLY)
        {
            return ReadOnlyFile(path, exception);
        }

        if (exception.SqliteErrorCode == SQLITE_CANTOPEN && !File.Exists(path))
        {
            return new StoreReadOnlyException(
                $"Could not create the session store '{path}': its folder cannot be written {code}. Make the folder writable, or point the store elsewhere.",
                exception)
            {
                DirectoryIsReadOnly = true,
            };
        }

        if (exception.SqliteErrorCode == SQLITE_NOTADB)
        {
            return NotAStore(path, "it is not an SQLite database", exception);
        }

        return new StoreException($"Could not {doing} the session store '{path}': {exception.Message} {code}.", exception);
    }

    public static StoreReadOnlyException ReadOnlyFile(string path, Exception? cause = null)
        => new($"The session store '{path}' is a read-only file: it can be read (SessionHistory, the read commands) but not written. Make it writable, or point the store at another file.", cause);

    public static StoreReadOnlyException ReadOnlyDirectory(string path, Exception? cause = null)
        => new(
            $"The session store '{path}' is in a read-only folder: SQLite cannot create its -wal and -shm files there, so it can be read but not written. " +
            "Make the folder writable, or point the store at another file.",
            cause)
        {
            DirectoryIsReadOnly = true,
        };

    public static NotAStoreException NotAStore(string path, string why, Exception? cause = null)
        => new($"'{path}' is not a Dataflow session store: {why}. Nothing was written to it; point the store at a new or empty file.", cause);
}

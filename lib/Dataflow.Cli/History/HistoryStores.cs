using Dataflow.Sqlite;
using Microsoft.Data.Sqlite;
using Npgsql;
using Pg = Dataflow.Npgsql;

namespace Dataflow.Cli.History;

/// <summary>
/// Opens the store for <c>run</c> and the read-only history for the read commands, turning failures into messages
/// that name the database and say what is wrong with it: a directory, locked, read-only (the file or its
/// directory), cannot be opened, or not a database. The SQLite error code decides, never the message text.
/// <c>--db</c> may also be a PostgreSQL connection string (a <c>postgresql://</c> URI or <c>Host=…;</c> keywords): then
/// the PostgreSQL store opens it, and messages name its schema, database and host, never its password.
/// </summary>
internal static class HistoryStores
{
    /// <summary>Whether <c>--db</c> names a PostgreSQL database rather than a SQLite file.</summary>
    public static bool IsPostgres(string db) => Pg.PostgresConnectionString.IsConnectionString(db);

    /// <summary>How <c>--verbose</c> names the database: the path, or the connection string without its password.</summary>
    public static string Display(string db)
    {
        if (!IsPostgres(db))
        {
            return db;
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(Pg.PostgresConnectionString.ToNpgsql(db));
            builder.Remove("Password");
            return "PostgreSQL " + builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "a PostgreSQL connection string";
        }
    }

    /// <summary>Opens the store named by <c>--db</c> and starts a session: <c>run</c>.</summary>
    /// <exception cref="CliException">The database cannot be opened or is not a Dataflow store.</exception>
    public static async Task<IHistoryWriter> OpenForWriteAsync(string db, IReadOnlyDictionary<string, object?> sessionMetadata, CancellationToken cancellationToken)
    {
        if (!IsPostgres(db))
        {
            return new SqliteHistoryWriter(OpenForWrite(db, sessionMetadata));
        }

        var options = new Pg.PostgresStoreOptions { SessionMetadata = sessionMetadata };
        return new PostgresHistoryWriter(await OpenPostgresAsync(() => Pg.PostgresSessionStore.OpenAsync(db, options, cancellationToken)).ConfigureAwait(false));
    }

    /// <summary>Opens the existing store named by <c>--db</c> read-only for the read commands: no session, no writer, never a new database.</summary>
    /// <exception cref="CliException">There is no store, or it cannot be opened or is not a Dataflow store.</exception>
    public static async Task<IHistoryReader> OpenForReadAsync(string db, CancellationToken cancellationToken)
        => IsPostgres(db)
            ? new PostgresHistoryReader(await OpenPostgresAsync(() => Pg.PostgresSessionHistory.OpenAsync(db, cancellationToken: cancellationToken)).ConfigureAwait(false))
            : new SqliteHistoryReader(OpenForRead(db));

    /// <summary>Opens the work queue in the PostgreSQL database named by <c>--db</c> (creating the store's schema as needed): <c>submit</c>, <c>worker</c>, <c>status</c>.</summary>
    /// <exception cref="CliException">--db is a SQLite path, or the database cannot be opened or is not a Dataflow store.</exception>
    public static Task<Pg.Jobs.JobQueue> OpenQueueAsync(string db, string command, CancellationToken cancellationToken)
    {
        RequirePostgres(db, command);
        return OpenPostgresAsync(() => Pg.Jobs.JobQueue.OpenAsync(db, cancellationToken: cancellationToken));
    }

    /// <summary>Opens the PostgreSQL store named by <c>--db</c> and starts a session: a worker's history and checkpoints.</summary>
    /// <exception cref="CliException">--db is a SQLite path, or the database cannot be opened or is not a Dataflow store.</exception>
    public static Task<Pg.PostgresSessionStore> OpenPostgresStoreAsync(string db, string command, IReadOnlyDictionary<string, object?> sessionMetadata, CancellationToken cancellationToken)
    {
        RequirePostgres(db, command);
        return OpenPostgresAsync(() => Pg.PostgresSessionStore.OpenAsync(db, new Pg.PostgresStoreOptions { SessionMetadata = sessionMetadata }, cancellationToken));
    }

    /// <summary>The message for a failure of the queue or a worker's store while in use.</summary>
    public static CliException QueueFailure(Exception exception) => PostgresFailure(exception);

    private static void RequirePostgres(string db, string command)
    {
        if (!IsPostgres(db))
        {
            throw new CliException($"--db must be a PostgreSQL connection string (postgresql://user@host/db or Host=…;Database=…) for `dataflow {command}`: the work queue lives in PostgreSQL, so that workers on several machines share it; '{TerminalText.Escape(db)}' is a SQLite path.");
        }
    }

    /// <summary>The message for a failure while reading or writing an open store of either kind.</summary>
    public static CliException Failure(string db, bool write, Exception exception)
        => IsPostgres(db) ? PostgresFailure(exception) : new(Describe(db, write, exception), exception);

    private static async Task<T> OpenPostgresAsync<T>(Func<Task<T>> open)
    {
        try
        {
            return await open().ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--db is not a usable PostgreSQL connection string: {TerminalText.Escape(e.Message)}", e);
        }
        catch (Exception e) when (e is Pg.StoreException or NpgsqlException or InvalidOperationException)
        {
            throw PostgresFailure(e);
        }
    }

    /// <summary>The store's messages name the schema, database and host and say what to do; they never hold the password.</summary>
    private static CliException PostgresFailure(Exception exception)
        => new(Find<Pg.StoreException>(exception) is { } store
            ? TerminalText.Escape(store.Message)
            : $"PostgreSQL error: {TerminalText.Escape(exception.Message)}", exception);

    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteReadOnly = 8;
    private const int SqliteCantOpen = 14;
    private const int SqliteNotADatabase = 26;

    /// <summary>Opens (creating) the SQLite database and starts a session.</summary>
    /// <exception cref="CliException">The database cannot be opened or is not a Dataflow store.</exception>
    private static SessionStore OpenForWrite(string path, IReadOnlyDictionary<string, object?> sessionMetadata)
    {
        CheckPath(path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new CliException($"cannot open database '{path}': its directory '{directory}' does not exist.");
        }

        return Open(path, write: true, () => new SessionStore(path, new SessionStoreOptions { SessionMetadata = sessionMetadata }));
    }

    /// <summary>Opens an existing SQLite database read-only: no session, no writer, never a new file.</summary>
    /// <exception cref="CliException">The file does not exist, cannot be opened or is not a Dataflow store.</exception>
    public static SessionHistory OpenForRead(string path)
    {
        CheckPath(path);
        try
        {
            return Open(path, write: false, () => SessionHistory.Open(path));
        }
        catch (FileNotFoundException e)
        {
            throw new CliException($"no database at '{path}'; run `dataflow run` first, or point --db at an existing database.", e);
        }
    }

    private static void CheckPath(string path)
    {
        CliPaths.Require("--db", path);
        if (Directory.Exists(path))
        {
            throw new CliException($"--db '{path}' is a directory, not a database file.");
        }
    }

    private static T Open<T>(string path, bool write, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (Exception e) when (e is StoreException or (IOException and not FileNotFoundException) or UnauthorizedAccessException or InvalidOperationException or ArgumentException or System.Data.Common.DbException)
        {
            throw Failure(path, write, e);
        }
    }

    private static string Describe(string path, bool write, Exception exception)
    {
        var sqlite = Find<SqliteException>(exception);
        var detail = TerminalText.Escape((sqlite ?? exception).Message);
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        if (Directory.Exists(full))
        {
            return $"--db '{path}' is a directory, not a database file.";
        }

        // The store says what it found in its own exception types; its messages name the file and what to do.
        switch (Find<StoreException>(exception))
        {
            case NotAStoreException or StoreSchemaTooNewException:
                return TerminalText.Escape(Find<StoreException>(exception)!.Message);
            case StoreLockedException:
                return $"database '{path}' is locked: another process is writing to it; try again when it has finished ({detail}).";
            case StoreReadOnlyException { DirectoryIsReadOnly: true }:
                return $"database '{path}' cannot be opened: its directory '{directory}' is read-only, and SQLite needs to create its -wal and -shm files there.";
            case StoreReadOnlyException:
                return $"database '{path}' is read-only: the file is not writable by this user{(write ? "; `run` needs to write to it" : string.Empty)}.";
        }

        switch (sqlite?.SqliteErrorCode)
        {
            case SqliteBusy or SqliteLocked:
                return $"database '{path}' is locked: another process is writing to it; try again when it has finished ({detail}).";
            case SqliteNotADatabase:
                return $"'{path}' is not a SQLite database (unreadable database: {detail}).";
            case SqliteReadOnly or SqliteCantOpen:
                var fileWritable = !File.Exists(full) || IsWritable(full, isDirectory: false);
                var directoryWritable = IsWritable(directory, isDirectory: true);
                if (!fileWritable)
                {
                    return $"database '{path}' is read-only: the file is not writable by this user{(write ? "; `run` needs to write to it" : string.Empty)} ({detail}).";
                }

                if (!directoryWritable)
                {
                    return $"database '{path}' cannot be opened: its directory '{directory}' is read-only, and SQLite needs to create its -wal and -shm files there ({detail}).";
                }

                return sqlite.SqliteErrorCode == SqliteReadOnly
                    ? $"database '{path}' is read-only ({detail})."
                    : $"cannot open database '{path}' ({detail}).";
        }

        return exception is StoreException && sqlite is null
            ? $"unreadable database '{path}': {TerminalText.Escape(exception.Message)}"
            : $"unreadable database '{path}': {detail}";
    }

    private static bool IsWritable(string path, bool isDirectory)
    {
        try
        {
            if (isDirectory)
            {
                return Directory.Exists(path) && CanCreateFileIn(path);
            }

            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool CanCreateFileIn(string directory)
    {
        // Permission bits do not tell about read-only mounts or ACLs: creating (and at once deleting) a file is the real test.
        var probe = Path.Combine(directory, $".dataflow-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T found)
            {
                return found;
            }
        }

        return null;
    }
}

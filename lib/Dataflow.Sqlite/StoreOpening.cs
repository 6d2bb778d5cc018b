using Dapper;
using Microsoft.Data.Sqlite;
using static SQLitePCL.raw;

namespace Dataflow.Sqlite;

/// <summary>
/// Checks a file before the store writes to it or the history reads it. The rule: a file that is neither empty (no
/// file, or 0 bytes) nor a Dataflow store is refused before anything is written, and a read-only file or folder is
/// refused for writing before SQLite creates its <c>-wal</c> and <c>-shm</c> files.
/// </summary>
/// <remarks>
/// A store is in WAL mode, and SQLite creates the <c>-wal</c> and <c>-shm</c> files on the first read, even on a
/// read-only connection, and a read-only connection never removes them. So the checks read a file as immutable
/// (no locks, no side files) when no <c>-wal</c> file exists, which means no writer has it open: a writer keeps its
/// <c>-wal</c> file for as long as it is open.
/// </remarks>
internal static class StoreOpening
{
    private static ReadOnlySpan<byte> Header => "SQLite format 3\0"u8;

    /// <summary>Opens the writer's connection to a checked, migrated store at <paramref name="connections"/>' path.</summary>
    public static SqliteConnection OpenWriter(StoreConnections connections, TimeSpan busyTimeout, bool durableCommits)
    {
        var path = connections.Path;
        if (HasContent(path))
        {
            Probe(path, busyTimeout, newIsFine: true);
        }

        SqliteConnection? connection = null;
        try
        {
            connection = connections.Open();

            // Opening reads nothing yet; SQLite opened the file read-only if it could not open it for writing.
            if (sqlite3_db_readonly(connection.Handle, "main") == 1)
            {
                throw StoreErrors.ReadOnlyFile(path);
            }

            connection.Execute("PRAGMA journal_mode = WAL");
            connection.Execute(durableCommits ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
            Schema.Migrate(connection, path);
            return connection;
        }
        catch (SqliteException ex)
        {
            connection?.Dispose();
            throw StoreErrors.From(ex, path, "open");
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    /// <summary>Whether the file exists with content (a 0-byte file counts as empty unless a -wal file holds its pages).</summary>
    public static bool HasContent(string path)
        => File.Exists(path) && (new FileInfo(path).Length > 0 || File.Exists(path + "-wal"));

    /// <summary>Whether a writer may have the file open (its -wal file exists).</summary>
    public static bool WalExists(string path) => File.Exists(path + "-wal");

    /// <summary>Whether the file cannot be opened for writing: asks SQLite, whose open falls back to read-only (and creates nothing).</summary>
    public static bool IsReadOnlyFile(string path)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWrite, Pooling = false }.ToString());
        connection.Open();
        return sqlite3_db_readonly(connection.Handle, "main") == 1;
    }

    /// <summary>Checks the header, then the schema, reading only; throws when the file is not a store this release can open.</summary>
    /// <returns>True for a store, false for an SQLite file without any schema.</returns>
    public static bool Probe(string path, TimeSpan busyTimeout, bool newIsFine)
    {
        CheckHeader(path);
        var probe = StoreConnections.ForReading(path, busyTimeout, immutable: !WalExists(path));
        try
        {
            using var connection = probe.Open();
            var isStore = Schema.Recognize(connection, path);
            if (!isStore && !newIsFine)
            {
                throw StoreErrors.NotAStore(path, "it is an SQLite database without any tables");
            }

            return isStore;
        }
        catch (SqliteException ex)
        {
            throw StoreErrors.From(ex, path, "open");
        }
        finally
        {
            probe.ClearPool();
        }
    }

    private static void CheckHeader(string path)
    {
        Span<byte> header = stackalloc byte[16];
        int read;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"Could not read the session store '{path}': {ex.Message}", ex);
        }

        if (read == 0 && File.Exists(path + "-wal"))
        {
            return;
        }

        if (read < header.Length || !header.SequenceEqual(Header))
        {
            throw StoreErrors.NotAStore(path, read == 0 ? "it is empty" : "it is not an SQLite database");
        }
    }
}

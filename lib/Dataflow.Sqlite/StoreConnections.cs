using Dapper;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// The one place that turns a store path into SQLite connections, for the writer, the readers of a
/// <see cref="SessionStore"/> and the read-only <see cref="SessionHistory"/>: the connection string, the busy timeout,
/// opening, and clearing the pool when the owner closes.
/// </summary>
internal sealed class StoreConnections
{
    private readonly string _connectionString;
    private readonly string _busyTimeoutPragma;

    private StoreConnections(string path, SqliteOpenMode mode, TimeSpan busyTimeout, bool immutable)
    {
        Path = path;
        Immutable = immutable;

        // An immutable read needs the URI form; SQLite then takes no locks and creates no -wal or -shm file.
        var dataSource = immutable ? new Uri(path).AbsoluteUri + "?immutable=1" : path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = dataSource,
            Mode = mode,
            Pooling = true,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(busyTimeout.TotalSeconds)),
        }.ToString();

        // PRAGMA takes no parameters; the value is a validated number.
        _busyTimeoutPragma = $"PRAGMA busy_timeout = {(int)busyTimeout.TotalMilliseconds}";
    }

    /// <summary>The full path of the database file.</summary>
    public string Path { get; }

    /// <summary>Whether these connections read the file as immutable (nobody can be writing it).</summary>
    public bool Immutable { get; }

    /// <summary>Connections that may write; <paramref name="create"/> lets the first one create the file.</summary>
    public static StoreConnections ForWriting(string path, TimeSpan busyTimeout, bool create)
        => new(path, create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite, busyTimeout, immutable: false);

    /// <summary>Read-only connections (<c>Mode=ReadOnly</c>); <paramref name="immutable"/> when no writer can exist.</summary>
    public static StoreConnections ForReading(string path, TimeSpan busyTimeout, bool immutable)
        => new(path, SqliteOpenMode.ReadOnly, busyTimeout, immutable);

    /// <summary>Opens a connection (pooled) with the busy timeout set.</summary>
    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            connection.Execute(_busyTimeoutPragma);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Closes the pooled connections, so the file is released.</summary>
    public void ClearPool()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }
}

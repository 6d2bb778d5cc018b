using Npgsql;

namespace Dataflow.Npgsql;

/// <summary>
/// The one place that turns a connection string and a schema name into connections: a pooled <see cref="NpgsqlDataSource"/>
/// (and a second one, preparing its statements, for the hot writes: <see cref="OpenWriterAsync"/>),
/// the quoted schema for SQL, the name shown in messages (host, port, database and schema; never the password), and the
/// translation of Npgsql's errors into the store's exceptions. The session store (with its checkpoints), the read-only history and
/// the work queue each own one.
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly NpgsqlDataSource _writers;

    private PostgresDatabase(NpgsqlDataSource dataSource, NpgsqlDataSource writers, string schema, string target)
    {
        _dataSource = dataSource;
        _writers = writers;
        Schema = schema;
        Target = target;
    }

    /// <summary>The schema's name, a validated identifier (see <see cref="PostgresStoreOptions.Schema"/>).</summary>
    public string Schema { get; }

    /// <summary>How messages name the store: <c>schema 'dataflow' of database 'x' on host:port</c>.</summary>
    public string Target { get; }

    /// <summary>Prefixes a table name with the quoted schema; both are our own identifiers, never user text.</summary>
    public string Table(string name) => $"\"{Schema}\".{name}";

    /// <summary>Builds the data source; <paramref name="readOnly"/> makes every transaction read-only on the server.</summary>
    /// <exception cref="ArgumentException">The connection string cannot be read.</exception>
    public static PostgresDatabase Create(string connectionString, string schema, bool readOnly)
    {
        var builder = new NpgsqlConnectionStringBuilder(PostgresConnectionString.ToNpgsql(connectionString));
        if (readOnly)
        {
            // The server refuses any write in such a session: a read-only view cannot change the database by mistake.
            builder.Options = string.IsNullOrEmpty(builder.Options) ? "-c default_transaction_read_only=on" : builder.Options + " -c default_transaction_read_only=on";
        }

        var port = builder.Port == NpgsqlConnection.DefaultPort ? string.Empty : $":{builder.Port}";
        var target = $"schema '{schema}' of database '{builder.Database ?? builder.Username}' on {builder.Host}{port}";
        var writers = new NpgsqlConnectionStringBuilder(builder.ConnectionString);

        // The hot writes (checkpoint batches, claims, heartbeats, outcomes) are a few statements of constant text run
        // again and again, every few milliseconds in a worker: prepared once per connection, the server parses and plans
        // each once instead of on every call (measured: a third of the server's CPU per run). Only this data source uses
        // its connections and nothing of ours leaves state in a session (no SET, no temporary tables, advisory locks only
        // per transaction), so a connection going back to the pool needs no DISCARD ALL, which would also drop them.
        // Reads keep unprepared connections: their text varies, and they may fail on user input (a raw tsquery), which
        // can leave an auto-prepared statement corrupt in Npgsql (npgsql/npgsql#6391); a failed write discards its pool
        // for the same reason (DiscardWriters). A caller's own setting wins.
        if (writers.MaxAutoPrepare == 0)
        {
            writers.MaxAutoPrepare = 32;
            writers.AutoPrepareMinUsages = 2;
        }

        writers.NoResetOnClose = true;
        return new PostgresDatabase(NpgsqlDataSource.Create(builder), NpgsqlDataSource.Create(writers), schema, target);
    }

    /// <summary>Opens a pooled connection of the writers' data source (statements prepared once per connection).</summary>
    /// <exception cref="StoreUnavailableException">The server cannot be reached (transient).</exception>
    /// <exception cref="StoreException">The server refused the connection.</exception>
    public async ValueTask<NpgsqlConnection> OpenWriterAsync(string doing, CancellationToken cancellationToken)
    {
        try
        {
            return await _writers.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw Error(ex, doing);
        }
    }

    /// <summary>
    /// After a write failed on a connection of the writers' data source: its physical connections are closed as they
    /// come back (not reused), so that no prepared statement a failure left inconsistent is run again. Returns false,
    /// to be used as an exception filter that lets the exception go on.
    /// </summary>
    public bool DiscardWriters()
    {
        _writers.Clear();
        return false;
    }

    /// <summary>Opens a pooled connection.</summary>
    /// <exception cref="StoreUnavailableException">The server cannot be reached (transient).</exception>
    /// <exception cref="StoreException">The server refused the connection (authentication, unknown database…).</exception>
    public async ValueTask<NpgsqlConnection> OpenAsync(string doing, CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex)
        {
            throw Error(ex, doing);
        }
    }

    /// <summary>Opens a pooled connection synchronously, for the rare call that cannot wait asynchronously.</summary>
    /// <exception cref="StoreUnavailableException">The server cannot be reached (transient).</exception>
    /// <exception cref="StoreException">The server refused the connection.</exception>
    public NpgsqlConnection Open(string doing)
    {
        try
        {
            return _dataSource.OpenConnection();
        }
        catch (NpgsqlException ex)
        {
            throw Error(ex, doing);
        }
    }

    /// <summary>The store exception for <paramref name="exception"/>, raised while <paramref name="doing"/> the store;
    /// branches on <see cref="NpgsqlException.IsTransient"/> and SQLSTATE codes, never on message text.</summary>
    public StoreException Error(NpgsqlException exception, string doing)
    {
        var code = exception is PostgresException pg ? $" (SQLSTATE {pg.SqlState})" : string.Empty;
        if (exception.IsTransient)
        {
            return new StoreUnavailableException(
                $"Could not {doing} the session store ({Target}): the server is unreachable or busy{code}: {exception.Message} Writes are retried until it answers.",
                exception);
        }

        var hint = exception is PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName }
            ? " The database does not exist: create it (createdb), or point the connection string at another one."
            : exception is PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification }
                ? " Check the user name and password."
                : exception is PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege }
                    ? " The user lacks a privilege the store needs (CREATE on the database for a new store, INSERT and SELECT on its tables)."
                    : string.Empty;
        return new StoreException($"Could not {doing} the session store ({Target}){code}: {exception.Message}{hint}", exception);
    }

    public async ValueTask DisposeAsync()
    {
        await _writers.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }
}

using Npgsql;

namespace Dataflow.Npgsql;

/// <summary>
/// The one place that turns a connection string and a schema name into connections: a pooled <see cref="NpgsqlDataSource"/>,
/// the quoted schema for SQL, the name shown in messages (host, port, database and schema; never the password), and the
/// translation of Npgsql's errors into the store's exceptions. The session store (with its checkpoints), the read-only history and
/// the work queue each own one.
/// </summary>
internal sealed class PostgresDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    private PostgresDatabase(NpgsqlDataSource dataSource, string schema, string target)
    {
        _dataSource = dataSource;
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

        // Every statement of the store, the checkpoints and the queue is constant text over parameters, run again and again
        // (a worker writes a checkpoint batch every few milliseconds): prepared once per connection, the server parses and
        // plans each once instead of on every call. A caller's own setting wins.
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        // Only this data source uses its connections, and nothing of ours leaves state in a session (no SET, no temporary
        // tables, advisory locks only per transaction), so a connection going back to the pool needs no DISCARD ALL, which
        // would also drop the prepared statements.
        builder.NoResetOnClose = true;

        var port = builder.Port == NpgsqlConnection.DefaultPort ? string.Empty : $":{builder.Port}";
        var target = $"schema '{schema}' of database '{builder.Database ?? builder.Username}' on {builder.Host}{port}";
        return new PostgresDatabase(NpgsqlDataSource.Create(builder), schema, target);
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

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

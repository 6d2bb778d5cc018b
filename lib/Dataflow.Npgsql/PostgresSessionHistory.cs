using Npgsql;

namespace Dataflow.Npgsql;

/// <summary>
/// A read-only view of an existing PostgreSQL session store: the same queries as <see cref="PostgresSessionStore"/>,
/// without starting a session or a writer. It never creates, migrates or changes anything: its sessions run with
/// <c>default_transaction_read_only</c> on, so the server itself refuses any write. It sees what open stores have
/// committed (<see cref="PostgresSessionStore.FlushAsync"/>) as of each query. Thread-safe.
/// </summary>
public sealed class PostgresSessionHistory : IAsyncDisposable
{
    private readonly PostgresDatabase _database;
    private long _version;
    private readonly HistoryQueries _queries;
    private int _disposed;

    private PostgresSessionHistory(PostgresDatabase database)
    {
        _database = database;
        _queries = new HistoryQueries(database, () => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this));
    }

    /// <summary>How messages name the store: its schema, database, host and port (never the password).</summary>
    public string Target => _database.Target;

    /// <summary>Opens the existing store in the database for reading.</summary>
    /// <param name="connectionString">A <c>postgresql://</c> URI or Npgsql keywords.</param>
    /// <param name="schema">The schema that holds the store (see <see cref="PostgresStoreOptions.Schema"/>); <c>dataflow</c> when null.</param>
    /// <param name="cancellationToken">Stops opening.</param>
    /// <returns>The view; dispose it to close its connections.</returns>
    /// <exception cref="ArgumentException">The connection string cannot be read, or the schema name is not a valid identifier.</exception>
    /// <exception cref="StoreNotFoundException">The database holds no store in that schema; none is created.</exception>
    /// <exception cref="NotAStoreException">The schema holds tables that are not a Dataflow store's.</exception>
    /// <exception cref="StoreSchemaTooNewException">The store was written by a newer Dataflow.</exception>
    /// <exception cref="StoreUnavailableException">The server cannot be reached.</exception>
    /// <exception cref="StoreException">The database cannot be opened for another reason.</exception>
    public static async Task<PostgresSessionHistory> OpenAsync(string connectionString, string? schema = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var validated = new PostgresStoreOptions { Schema = schema ?? "dataflow" }.Validated();
        var database = PostgresDatabase.Create(connectionString, validated.Schema, readOnly: true);
        long version;
        try
        {
            var connection = await database.OpenAsync("open", cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    version = await Schema.RecognizeAsync(connection, database, null, cancellationToken).ConfigureAwait(false);
                    if (version == 0)
                    {
                        throw new StoreNotFoundException(
                            $"No session store in the {database.Target}: the schema does not exist or holds no tables (a read-only view never creates one). " +
                            "Open a PostgresSessionStore (or run `dataflow run --db …`) to create it, or check the database and schema.");
                    }
                }
                catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw database.Error(ex, "open");
                }
            }

            return new PostgresSessionHistory(database) { _version = version };
        }
        catch
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Every committed checkpoint of one durable run, oldest first; empty when the store has none of that run.</summary>
    /// <param name="runId">The run.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The checkpoints.</returns>
    /// <exception cref="Dataflow.Checkpoints.CheckpointsUnavailableException">The store's schema predates checkpoints (version 1).</exception>
    /// <exception cref="StoreException">The database cannot be read.</exception>
    public async Task<IReadOnlyList<Dataflow.Checkpoints.RunCheckpoint>> RunCheckpointsAsync(string runId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runId);
        if (_version < 2)
        {
            throw new Dataflow.Checkpoints.CheckpointsUnavailableException(
                $"The session store ({Target}) has schema version {_version}, which has no checkpoint tables (they came with version 2). " +
                "Open it once for writing (a PostgresSessionStore, or `dataflow run --db …`) to migrate it; read-only, it has no checkpoints to show.");
        }

        var connection = await _database.OpenAsync("read the checkpoints of", cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                return await Checkpoints.CheckpointQueries.RunAsync(connection, _database, runId, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw _database.Error(ex, "read the checkpoints of");
            }
        }
    }

    /// <summary>Full-text search over every session (or the filtered ones), newest first unless ranked; streamed, in constant memory whatever the limit.</summary>
    /// <param name="query">Plain text by default (every word must occur; a trailing <c>*</c> makes a prefix); see <see cref="SearchOptions.Syntax"/>.</param>
    /// <param name="options">Limit, order, syntax and filters (session, channel, run, event kind, time).</param>
    /// <param name="cancellationToken">Stops the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The hits, each with a highlighted <see cref="StoreEntry.Snippet"/>; empty when the plain text holds no searchable word.</returns>
    /// <exception cref="InvalidSearchQueryException">A raw tsquery (<see cref="SearchSyntax.TsQuery"/>) is malformed (on the first move).</exception>
    /// <exception cref="ObjectDisposedException">The view is disposed.</exception>
    public IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions? options = null, CancellationToken cancellationToken = default)
        => _queries.SearchAsync(query, options, cancellationToken);

    /// <summary>The newest entries across every session, newest first, streamed.</summary>
    /// <param name="n">How many.</param>
    /// <param name="cancellationToken">Stops the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The entries.</returns>
    public IAsyncEnumerable<StoreEntry> RecentAsync(int n = 50, CancellationToken cancellationToken = default) => _queries.RecentAsync(n, cancellationToken);

    /// <summary>The entries of one session, or of one run in it, oldest first, streamed.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="runId">The run (an index lookup); every entry of the session when null.</param>
    /// <param name="cancellationToken">Stops the enumeration with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The entries; empty for an unknown session or run.</returns>
    public IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId = null, CancellationToken cancellationToken = default)
        => _queries.SessionEntriesAsync(sessionId, runId, cancellationToken);

    /// <summary>The newest session with entries of <paramref name="runId"/> (run ids repeat across sessions); one index lookup.</summary>
    /// <param name="runId">The run's id.</param>
    /// <param name="cancellationToken">Stops the query.</param>
    /// <returns>The session's id, or null when no session has that run.</returns>
    public Task<string?> SessionOfRunAsync(string runId, CancellationToken cancellationToken = default) => _queries.SessionOfRunAsync(runId, cancellationToken);

    /// <summary>Every session in the store, newest first, with its entry count.</summary>
    /// <param name="cancellationToken">Stops the query.</param>
    /// <returns>The sessions.</returns>
    public Task<IReadOnlyList<SessionInfo>> SessionsAsync(CancellationToken cancellationToken = default) => _queries.SessionsAsync(cancellationToken);

    /// <summary>Closes the view's connections. Safe to call twice.</summary>
    /// <returns>A task that completes when they are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _database.DisposeAsync().ConfigureAwait(false);
        }
    }
}

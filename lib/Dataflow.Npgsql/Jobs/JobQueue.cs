using System.Text.Json;
using Dapper;
using Dataflow.Graphs;
using Npgsql;
using NpgsqlTypes;

namespace Dataflow.Npgsql.Jobs;

/// <summary>
/// The work queue of a batch job in PostgreSQL, in the same schema as the history and the checkpoints: a job's inputs
/// are enqueued once (<see cref="SubmitAsync(string, Graph, IAsyncEnumerable{string}, CancellationToken)"/>); any
/// number of <see cref="Worker"/>s on any number of machines claim them under leases, run them, and record each one's
/// final state and result here. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Claims: a worker takes a small batch of inputs in one statement with <c>FOR UPDATE SKIP LOCKED</c>, so
/// concurrent workers never wait for each other nor take the same input. A claim is a lease: the worker's id and an
/// expiry in server time (no clock of any machine is trusted), renewed by the worker's heartbeat. Inputs whose lease
/// expired (their worker died or hung) are claimed before new ones.</para>
/// <para>Runs: the runs of a job are durable. An input's run id is committed with the run's start checkpoint, so a
/// worker that claims an expired input resumes its run from its last checkpoint, or, if the run had finished, records
/// its final state without running anything. So no run executes to completion twice, and every input ends in exactly
/// one final state.</para>
/// </remarks>
public sealed partial class JobQueue : IAsyncDisposable
{
    private readonly PostgresDatabase _database;
    private int _disposed;

    private JobQueue(PostgresDatabase database) => _database = database;

    /// <summary>How messages name the queue: its schema, database, host and port (never the password).</summary>
    public string Target => _database.Target;

    /// <summary>Opens the queue in the database (creating or migrating the store's schema as needed).</summary>
    /// <param name="connectionString">A <c>postgresql://user:password@host:port/database</c> URI or Npgsql keywords.</param>
    /// <param name="schema">The store's schema; <c>dataflow</c> when null.</param>
    /// <param name="cancellationToken">Stops opening.</param>
    /// <returns>The queue; dispose it to close its connections.</returns>
    /// <exception cref="ArgumentException">The connection string cannot be read, or the schema name is invalid.</exception>
    /// <exception cref="NotAStoreException">The schema holds tables that are not a Dataflow store's.</exception>
    /// <exception cref="StoreSchemaTooNewException">The store was written by a newer Dataflow.</exception>
    /// <exception cref="StoreException">The database cannot be opened.</exception>
    public static async Task<JobQueue> OpenAsync(string connectionString, string? schema = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var validated = new PostgresStoreOptions { Schema = schema ?? "dataflow" }.Validated();
        var database = PostgresDatabase.Create(connectionString, validated.Schema, readOnly: false);
        try
        {
            var connection = await database.OpenAsync("open the queue of", cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    await Schema.MigrateAsync(connection, database, cancellationToken).ConfigureAwait(false);
                }
                catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw database.Error(ex, "open the queue of");
                }
            }

            return new JobQueue(database);
        }
        catch
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Enqueues a job: its inputs, each a start node of <paramref name="graph"/> as JSON, in one transaction (binary COPY).</summary>
    /// <param name="job">The job's name, unique in the queue.</param>
    /// <param name="graph">The graph whose workers run the job.</param>
    /// <param name="inputs">The start nodes as JSON objects, in order; they are read by the workers.</param>
    /// <param name="cancellationToken">Stops enqueueing; nothing is enqueued then.</param>
    /// <returns>How many inputs were enqueued.</returns>
    /// <exception cref="ArgumentException">The job name is empty or longer than 200 characters.</exception>
    /// <exception cref="JobExistsException">A job of that name exists; nothing was enqueued.</exception>
    /// <exception cref="StoreException">The database refused the write.</exception>
    public async Task<long> SubmitAsync(string job, Graph graph, IAsyncEnumerable<string> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        CheckJobName(job);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var doing = $"enqueue job '{job}' in";
        var connection = await _database.OpenAsync(doing, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var created = await connection.ExecuteAsync(new CommandDefinition(
                        $"INSERT INTO {_database.Table("jobs")} (name, graph, total) VALUES (@Job, @Graph, 0) ON CONFLICT (name) DO NOTHING",
                        new { Job = job, Graph = GraphId(graph) },
                        transaction,
                        cancellationToken: cancellationToken)).ConfigureAwait(false);
                    if (created == 0)
                    {
                        throw new JobExistsException($"The queue ({Target}) already has a job named '{job}'; nothing was enqueued. Choose another name (--job).");
                    }

                    long line = 0;
                    var importer = await connection.BeginBinaryImportAsync(
                        $"COPY {_database.Table("job_items")} (job, line, input, state) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
                    await using (importer.ConfigureAwait(false))
                    {
                        await foreach (var input in inputs.WithCancellation(cancellationToken).ConfigureAwait(false))
                        {
                            ArgumentNullException.ThrowIfNull(input, nameof(inputs));
                            await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                            await importer.WriteAsync(job, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                            await importer.WriteAsync(++line, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                            await importer.WriteAsync(PgText.Clean(input), NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                            await importer.WriteAsync("queued", NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                        }

                        await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await connection.ExecuteAsync(new CommandDefinition(
                        $"UPDATE {_database.Table("jobs")} SET total = @Total WHERE name = @Job", new { Job = job, Total = line }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return line;
                }
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw _database.Error(ex, doing);
            }
        }
    }

    /// <summary>Enqueues a job of start nodes, each stored as JSON (System.Text.Json, its runtime type's public properties).</summary>
    /// <param name="job">The job's name, unique in the queue.</param>
    /// <param name="graph">The graph whose workers run the job.</param>
    /// <param name="inputs">The start nodes, each of the graph's start type.</param>
    /// <param name="cancellationToken">Stops enqueueing; nothing is enqueued then.</param>
    /// <returns>How many inputs were enqueued.</returns>
    /// <exception cref="ArgumentException">The job name is invalid, or an input is not of the graph's start type.</exception>
    /// <exception cref="JobExistsException">A job of that name exists; nothing was enqueued.</exception>
    /// <exception cref="StoreException">The database refused the write.</exception>
    public Task<long> SubmitAsync(string job, Graph graph, IEnumerable<INode> inputs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(inputs);
        return SubmitAsync(job, graph, inputs.Select(node => node?.GetType() == graph.Start
            ? JsonSerializer.Serialize(node, graph.Start)
            : throw new ArgumentException($"An input is {(node is null ? "null" : $"a {node.GetType().Name}")}, not a start node of the graph ({graph.Start.Name}).", nameof(inputs))).ToAsyncEnumerable(), cancellationToken);
    }

    /// <summary>How far one job is.</summary>
    /// <param name="job">The job's name.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>Its inputs counted by state.</returns>
    /// <exception cref="UnknownJobException">The queue has no such job.</exception>
    /// <exception cref="StoreException">The database cannot be read.</exception>
    public async Task<JobProgress> ProgressAsync(string job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        return (await ReadProgressAsync(job, cancellationToken).ConfigureAwait(false)).SingleOrDefault()
            ?? throw new UnknownJobException($"The queue ({Target}) has no job named '{job}'.");
    }

    /// <summary>How far every job is, newest first.</summary>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>Every job's inputs counted by state.</returns>
    /// <exception cref="StoreException">The database cannot be read.</exception>
    public Task<IReadOnlyList<JobProgress>> JobsAsync(CancellationToken cancellationToken = default) => ReadProgressAsync(null, cancellationToken);

    /// <summary>The workers that worked on a job (or on any job), with what each holds and finished, latest started first.</summary>
    /// <param name="job">The job; null for every worker.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <returns>The workers.</returns>
    /// <exception cref="StoreException">The database cannot be read.</exception>
    public Task<IReadOnlyList<WorkerProgress>> WorkersAsync(string? job = null, CancellationToken cancellationToken = default)
        => ReadAsync<IReadOnlyList<WorkerProgress>>("read the workers of", async connection =>
        {
            var rows = await connection.QueryAsync<WorkerRow>(new CommandDefinition(
                "SELECT w.id AS Id, w.host AS Host, w.pid AS ProcessId, w.started_at AS StartedAt, w.heartbeat_at AS HeartbeatAt, w.stopped_at AS StoppedAt, " +
                $"(SELECT count(*) FROM {_database.Table("job_items")} i WHERE i.worker = w.id AND i.state = 'leased') AS Leased, " +
                "w.done AS Done, w.failed AS Failed, w.cancelled AS Cancelled, w.taken_over AS TakenOver " +
                $"FROM {_database.Table("workers")} w WHERE @Job::text IS NULL OR w.job = @Job OR (w.job IS NULL AND w.graph = (SELECT graph FROM {_database.Table("jobs")} WHERE name = @Job)) " +
                "ORDER BY w.started_at DESC, w.id",
                new { Job = job },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            return [.. rows.Select(r => new WorkerProgress(r.Id, r.Host, r.ProcessId, Utc(r.StartedAt), Utc(r.HeartbeatAt), r.StoppedAt is { } s ? Utc(s) : null, r.Leased, r.Done, r.Failed, r.Cancelled, r.TakenOver))];
        }, cancellationToken);

    /// <summary>Every input of a job with its state, run, result or error, in input order; streamed.</summary>
    /// <param name="job">The job.</param>
    /// <param name="cancellationToken">Stops the enumeration.</param>
    /// <returns>The inputs.</returns>
    /// <exception cref="StoreException">The database cannot be read.</exception>
    public async IAsyncEnumerable<JobItem> ItemsAsync(string job, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = await _database.OpenAsync("read the items of", cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = new NpgsqlCommand(
                $"SELECT line, state, input, run_id, result, error, worker, attempts FROM {_database.Table("job_items")} WHERE job = $1 ORDER BY line",
                connection)
            {
                Parameters = { new NpgsqlParameter<string> { TypedValue = job } },
            };
            await using (command.ConfigureAwait(false))
            {
                NpgsqlDataReader reader;
                try
                {
                    reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw _database.Error(ex, "read the items of");
                }

                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        yield return new JobItem(
                            reader.GetInt64(0),
                            ParseState(reader.GetString(1)),
                            reader.GetString(2),
                            reader.IsDBNull(3) ? null : reader.GetString(3),
                            reader.IsDBNull(4) ? null : reader.GetString(4),
                            reader.IsDBNull(5) ? null : reader.GetString(5),
                            reader.IsDBNull(6) ? null : reader.GetString(6),
                            reader.GetInt32(7));
                    }
                }
            }
        }
    }

    /// <summary>Closes the queue's connections. Safe to call twice.</summary>
    /// <returns>A task that completes when they are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _database.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>A graph's identity in the queue and the checkpoints: its start node type's full name.</summary>
    internal static string GraphId(Graph graph) => graph.Start.FullName ?? graph.Start.Name;

    internal static JobItemState ParseState(string state) => state switch
    {
        "queued" => JobItemState.Queued,
        "leased" => JobItemState.Leased,
        "done" => JobItemState.Done,
        "failed" => JobItemState.Failed,
        _ => JobItemState.Cancelled,
    };

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));

    private static void CheckJobName(string job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (string.IsNullOrWhiteSpace(job) || job.Length > 200 || job.Any(char.IsControl))
        {
            throw new ArgumentException($"A job name must be 1 to 200 characters without control characters (was {job.Length} characters).", nameof(job));
        }
    }

    private Task<IReadOnlyList<JobProgress>> ReadProgressAsync(string? job, CancellationToken cancellationToken)
        => ReadAsync<IReadOnlyList<JobProgress>>("read the jobs of", async connection =>
        {
            var rows = await connection.QueryAsync<ProgressRow>(new CommandDefinition(
                "SELECT j.name AS Job, j.graph AS Graph, j.created_at AS CreatedAt, j.total AS Total, " +
                "count(*) FILTER (WHERE i.state = 'queued') AS Queued, count(*) FILTER (WHERE i.state = 'leased') AS Leased, " +
                "count(*) FILTER (WHERE i.state = 'done') AS Done, count(*) FILTER (WHERE i.state = 'failed') AS Failed, count(*) FILTER (WHERE i.state = 'cancelled') AS Cancelled " +
                $"FROM {_database.Table("jobs")} j LEFT JOIN {_database.Table("job_items")} i ON i.job = j.name " +
                "WHERE @Job::text IS NULL OR j.name = @Job GROUP BY j.name ORDER BY j.created_at DESC, j.name",
                new { Job = job },
                cancellationToken: cancellationToken)).ConfigureAwait(false);
            return [.. rows.Select(r => new JobProgress(r.Job, r.Graph, Utc(r.CreatedAt), r.Total, r.Queued, r.Leased, r.Done, r.Failed, r.Cancelled))];
        }, cancellationToken);

    private async Task<T> ReadAsync<T>(string doing, Func<NpgsqlConnection, Task<T>> query, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = await _database.OpenAsync(doing, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                return await query(connection).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw _database.Error(ex, doing);
            }
        }
    }

    private sealed class ProgressRow
    {
        public string Job { get; init; } = string.Empty;

        public string Graph { get; init; } = string.Empty;

        public DateTime CreatedAt { get; init; }

        public long Total { get; init; }

        public long Queued { get; init; }

        public long Leased { get; init; }

        public long Done { get; init; }

        public long Failed { get; init; }

        public long Cancelled { get; init; }
    }

    private sealed class WorkerRow
    {
        public string Id { get; init; } = string.Empty;

        public string Host { get; init; } = string.Empty;

        public int ProcessId { get; init; }

        public DateTime StartedAt { get; init; }

        public DateTime HeartbeatAt { get; init; }

        public DateTime? StoppedAt { get; init; }

        public long Leased { get; init; }

        public long Done { get; init; }

        public long Failed { get; init; }

        public long Cancelled { get; init; }

        public long TakenOver { get; init; }
    }
}

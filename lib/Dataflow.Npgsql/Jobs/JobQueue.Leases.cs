using Dapper;
using Npgsql;
using NpgsqlTypes;

namespace Dataflow.Npgsql.Jobs;

/// <summary>One claimed input: its id, position, JSON, and the run it already has if a worker started it before.</summary>
internal sealed record ClaimedItem(long Id, string Job, long Line, string Input, string? RunId, bool TakenOver);

/// <summary>How a worker finished an input (or gives it back: <see cref="State"/> null).</summary>
internal sealed record ItemOutcome(long Id, string? State, string? Result, string? Error);

/// <summary>
/// The workers' side of the queue: claims, heartbeats, outcomes and releases. Every statement names the worker, so a
/// worker can only renew, finish or give back the inputs it holds: once its lease expired and another worker claimed
/// an input, its late writes to that input change nothing. A worker's heartbeat and its outcome and checkpoint writes
/// run at once and touch the same rows: the writes lock them in id order, and the heartbeat skips the rows a write
/// holds (that write is finishing them, or the next beat renews them), so they never deadlock.
/// </summary>
public sealed partial class JobQueue
{
    private const string ItemColumns = "i.id AS Id, i.job AS Job, i.line AS Line, i.input AS Input, i.run_id AS RunId";

    /// <summary>Registers a worker (one row, for status).</summary>
    internal Task RegisterAsync(string workerId, string? job, string graph, CancellationToken cancellationToken)
        => WriteAsync("register a worker in", connection => connection.ExecuteAsync(new CommandDefinition(
            $"INSERT INTO {_database.Table("workers")} (id, job, graph, host, pid) VALUES (@Id, @Job, @Graph, @Host, @Pid)",
            new { Id = workerId, Job = job, Graph = graph, Host = PgText.Clean(Environment.MachineName), Pid = Environment.ProcessId },
            cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="count"/> inputs of the graph's jobs (or of one job) for <paramref name="lease"/>:
    /// first inputs whose lease expired (if <paramref name="expired"/>), then queued ones, each in one statement that
    /// skips rows other workers hold. An expired input already claimed <paramref name="maxAttempts"/> times is failed
    /// instead, in the same statement.
    /// </summary>
    internal Task<IReadOnlyList<ClaimedItem>> ClaimAsync(string workerId, string graph, string? job, int count, TimeSpan lease, int maxAttempts, bool expired, long after, CancellationToken cancellationToken)
        => WriteAsync<IReadOnlyList<ClaimedItem>>("claim inputs from", async connection =>
        {
            var jobs = job is null ? $"i.job IN (SELECT name FROM {_database.Table("jobs")} WHERE graph = @Graph)" : "i.job = @Job";
            var parameters = new { Worker = workerId, Graph = graph, Job = job, Count = count, LeaseMs = lease.TotalMilliseconds, Max = maxAttempts, After = after };
            List<ClaimedItem> claimed = expired ? [.. (await ClaimExpiredAsync(connection, jobs, parameters, cancellationToken).ConfigureAwait(false)).Select(r => r.ToItem(takenOver: true))] : [];

            // Queued inputs one job at a time, the oldest job first, each read from its own index in id order. Over
            // several jobs at once (job IN ...) no index holds them in id order, and the server either sorts every
            // queued input of the jobs or walks the primary key past every finished one: 0.4 s a claim over 900,000
            // finished inputs, and every claim that came up short (an idle worker's, each poll) did it from the bottom.
            var open = job is null ? await OpenJobsAsync(connection, graph, cancellationToken).ConfigureAwait(false) : [job];

            // Above the frontier first; when that comes up short, from the bottom: inputs given back to the queue (a
            // drained worker's) wait below it.
            foreach (var from in after > 0 ? [after, 0L] : (long[])[0L])
            {
                foreach (var name in open)
                {
                    if (claimed.Count >= count)
                    {
                        break;
                    }

                    var queued = await connection.QueryAsync<ClaimedRow>(new CommandDefinition(
                        ClaimQueuedStatement("i.job = @Job"),
                        parameters with { Job = name, Count = count - claimed.Count, After = from },
                        cancellationToken: cancellationToken)).ConfigureAwait(false);
                    claimed.AddRange(queued.Select(r => r.ToItem(takenOver: false)));
                }
            }

            if (claimed.Any(c => c.TakenOver))
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    $"UPDATE {_database.Table("workers")} SET taken_over = taken_over + @N WHERE id = @Worker",
                    new { N = claimed.Count(c => c.TakenOver), Worker = workerId },
                    cancellationToken: cancellationToken)).ConfigureAwait(false);
            }

            return claimed;
        }, cancellationToken);

    /// <summary>
    /// The claim of queued inputs (parameters <c>@Job</c> or <c>@Graph</c>, <c>@Count</c>, <c>@Worker</c>,
    /// <c>@LeaseMs</c>, <c>@After</c>): the oldest queued inputs in id order above <c>@After</c>, read up to the limit
    /// from an index that holds them in that order (see schema version 6), then updated by their ids as an array.
    /// <c>@After</c> is the claiming worker's frontier, the highest id it has claimed: whichever index the server picks
    /// (on an analyzed queue it may walk the primary key and filter, believing queued inputs spread evenly), the read
    /// starts where the queued inputs are instead of passing every finished one. Not a join on the locked rows: the
    /// generic plan of a join, its row count unknown, can hash the whole table.
    /// </summary>
    internal string ClaimQueuedStatement(string jobs)
        => $"WITH c AS (SELECT i.id FROM {_database.Table("job_items")} i WHERE {jobs} AND i.state = 'queued' AND i.id > @After ORDER BY i.id LIMIT @Count FOR UPDATE SKIP LOCKED) " +
            $"UPDATE {_database.Table("job_items")} i SET state = 'leased', worker = @Worker, lease_expires = now() + @LeaseMs * interval '1 millisecond', attempts = i.attempts + 1 WHERE i.id = ANY (ARRAY(SELECT id FROM c)) " +
            $"RETURNING {ItemColumns}";

    /// <summary>The graph's jobs that have queued inputs, oldest first (each asked through its index of queued inputs).</summary>
    private async Task<IReadOnlyList<string>> OpenJobsAsync(NpgsqlConnection connection, string graph, CancellationToken cancellationToken)
        => (await connection.QueryAsync<string>(new CommandDefinition(
            $"SELECT j.name FROM {_database.Table("jobs")} j WHERE j.graph = @Graph " +
            $"AND EXISTS (SELECT 1 FROM {_database.Table("job_items")} i WHERE i.job = j.name AND i.state = 'queued') ORDER BY j.created_at, j.name",
            new { Graph = graph },
            cancellationToken: cancellationToken)).ConfigureAwait(false)).AsList();

    /// <summary>Claims inputs whose lease expired, failing those claimed too often (see <see cref="ClaimAsync"/>).</summary>
    private Task<IEnumerable<ClaimedRow>> ClaimExpiredAsync(NpgsqlConnection connection, string jobs, object parameters, CancellationToken cancellationToken)
        => connection.QueryAsync<ClaimedRow>(new CommandDefinition(
                $"WITH c AS (SELECT i.id, i.attempts >= @Max AS poison FROM {_database.Table("job_items")} i WHERE {jobs} AND i.state = 'leased' AND i.lease_expires < now() ORDER BY i.lease_expires LIMIT @Count FOR UPDATE SKIP LOCKED), " +
                $"p AS (UPDATE {_database.Table("job_items")} i SET state = 'failed', worker = @Worker, lease_expires = NULL, finished_at = now(), " +
                "error = format('Gave up on input %s of job ''%s'' after %s claims: each worker that claimed it died or stopped renewing its lease before it finished (WorkerOptions.MaxAttempts is %s). A run it had stays as its last checkpoint left it.', i.line, i.job, i.attempts, @Max) " +
                "WHERE i.id = ANY (ARRAY(SELECT id FROM c WHERE poison)) RETURNING 1), " +
                $"w AS (UPDATE {_database.Table("workers")} SET failed = failed + (SELECT count(*) FROM p) WHERE id = @Worker AND EXISTS (SELECT 1 FROM p)) " +
                $"UPDATE {_database.Table("job_items")} i SET worker = @Worker, lease_expires = now() + @LeaseMs * interval '1 millisecond', attempts = i.attempts + 1 WHERE i.id = ANY (ARRAY(SELECT id FROM c WHERE NOT poison)) " +
                $"RETURNING {ItemColumns}",
                parameters,
                cancellationToken: cancellationToken));

    /// <summary>Whether the graph's jobs (or the one job) have inputs that are not final (queued, or leased by anyone).</summary>
    internal Task<bool> HasOpenItemsAsync(string graph, string? job, CancellationToken cancellationToken)
        => WriteAsync("read the queue of", connection => connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            job is null
                ? $"SELECT EXISTS (SELECT 1 FROM {_database.Table("job_items")} i WHERE i.job IN (SELECT name FROM {_database.Table("jobs")} WHERE graph = @Graph) AND i.state IN ('queued', 'leased'))"
                : $"SELECT EXISTS (SELECT 1 FROM {_database.Table("job_items")} i WHERE i.job = @Job AND i.state IN ('queued', 'leased'))",
            new { Graph = graph, Job = job },
            cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>Whether the queue has a job of that name for the graph.</summary>
    internal Task<bool> HasJobAsync(string job, string graph, CancellationToken cancellationToken)
        => WriteAsync("read the jobs of", connection => connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            $"SELECT EXISTS (SELECT 1 FROM {_database.Table("jobs")} WHERE name = @Job AND graph = @Graph)",
            new { Job = job, Graph = graph },
            cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>The heartbeat: extends every lease the worker holds (but those a write of its own holds at that moment); returns how many it renewed.</summary>
    internal Task<int> RenewAsync(string workerId, TimeSpan lease, CancellationToken cancellationToken)
        => WriteAsync("renew the leases in", connection => connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"WITH l AS (SELECT id FROM {_database.Table("job_items")} WHERE worker = @Worker AND state = 'leased' ORDER BY id FOR UPDATE SKIP LOCKED), " +
            $"r AS (UPDATE {_database.Table("job_items")} SET lease_expires = now() + @LeaseMs * interval '1 millisecond' WHERE id IN (SELECT id FROM l) RETURNING 1), " +
            $"w AS (UPDATE {_database.Table("workers")} SET heartbeat_at = now() WHERE id = @Worker) SELECT count(*)::int FROM r",
            new { Worker = workerId, LeaseMs = lease.TotalMilliseconds },
            cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>Records a batch of outcomes in one transaction: final states with results, or inputs given back to the queue.</summary>
    internal async Task WriteOutcomesAsync(string workerId, IReadOnlyList<ItemOutcome> outcomes, CancellationToken cancellationToken)
    {
        var doing = $"record {outcomes.Count} outcomes in";
        var connection = await _database.OpenWriterAsync(doing, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    var batch = new NpgsqlBatch(connection, transaction);
                    await using (batch.ConfigureAwait(false))
                    {
                        var final = outcomes.Where(o => o.State is not null).ToArray();
                        var released = outcomes.Where(o => o.State is null).Select(o => o.Id).ToArray();
                        if (final.Length > 0)
                        {
                            var command = new NpgsqlBatchCommand(
                                $"WITH l AS (SELECT id FROM {_database.Table("job_items")} WHERE id = ANY($1) AND worker = $5 AND state = 'leased' ORDER BY id FOR UPDATE), " +
                                $"u AS (UPDATE {_database.Table("job_items")} i SET state = u.state, result = u.result, error = u.error, lease_expires = NULL, finished_at = now() " +
                                "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u(id, state, result, error) WHERE i.id = u.id AND i.id IN (SELECT id FROM l) RETURNING i.state) " +
                                $"UPDATE {_database.Table("workers")} SET done = done + (SELECT count(*) FROM u WHERE state = 'done'), failed = failed + (SELECT count(*) FROM u WHERE state = 'failed'), " +
                                "cancelled = cancelled + (SELECT count(*) FROM u WHERE state = 'cancelled') WHERE id = $5");
                            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. final.Select(o => o.Id)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                            command.Parameters.Add(new NpgsqlParameter { Value = final.Select(o => o.State).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                            command.Parameters.Add(new NpgsqlParameter { Value = final.Select(o => PgText.CleanOrNull(o.Result)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                            command.Parameters.Add(new NpgsqlParameter { Value = final.Select(o => PgText.CleanOrNull(o.Error)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = workerId });
                            batch.BatchCommands.Add(command);
                        }

                        if (released.Length > 0)
                        {
                            var command = new NpgsqlBatchCommand(
                                $"UPDATE {_database.Table("job_items")} SET state = 'queued', worker = NULL, lease_expires = NULL WHERE id = ANY($1) AND worker = $2 AND state = 'leased'");
                            command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = released, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
                            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = workerId });
                            batch.BatchCommands.Add(command);
                        }

                        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception) when (_database.DiscardWriters())
            {
                throw;
            }
            catch (NpgsqlException ex)
            {
                throw _database.Error(ex, doing);
            }
        }
    }

    /// <summary>A worker's clean stop: gives back every input it still holds (their runs stay resumable) and marks it stopped.</summary>
    internal Task<int> StopAsync(string workerId, CancellationToken cancellationToken)
        => WriteAsync("stop a worker in", connection => connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $"WITH r AS (UPDATE {_database.Table("job_items")} SET state = 'queued', worker = NULL, lease_expires = NULL WHERE worker = @Worker AND state = 'leased' RETURNING 1), " +
            $"w AS (UPDATE {_database.Table("workers")} SET stopped_at = now(), heartbeat_at = now() WHERE id = @Worker) SELECT count(*)::int FROM r",
            new { Worker = workerId },
            cancellationToken: cancellationToken)), cancellationToken);

    private async Task<T> WriteAsync<T>(string doing, Func<NpgsqlConnection, Task<T>> statement, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var connection = await _database.OpenWriterAsync(doing, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                return await statement(connection).ConfigureAwait(false);
            }
            catch (Exception) when (_database.DiscardWriters())
            {
                throw;
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw _database.Error(ex, doing);
            }
        }
    }

    private sealed class ClaimedRow
    {
        public long Id { get; init; }

        public string Job { get; init; } = string.Empty;

        public long Line { get; init; }

        public string Input { get; init; } = string.Empty;

        public string? RunId { get; init; }

        public ClaimedItem ToItem(bool takenOver) => new(Id, Job, Line, Input, RunId, takenOver);
    }
}

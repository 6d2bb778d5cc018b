using Dataflow.Checkpoints;
using Dataflow.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Dataflow.Npgsql.Checkpoints;

/// <summary>One row for the checkpoint writer: a checkpoint (every column in its stored form) or a graph description.</summary>
internal sealed class CheckpointWrite
{
    public required string RunId { get; init; }

    public int Seq { get; init; }

    public required string SessionId { get; init; }

    public required string Graph { get; init; }

    public required string Fingerprint { get; init; }

    public required string State { get; init; }

    public int Step { get; init; }

    public required string NodeType { get; init; }

    public required string Node { get; init; }

    public string? Trace { get; init; }

    public string? Gates { get; init; }

    public bool GatesResolved { get; init; }

    public int GateNumber { get; init; }

    public int Iterations { get; init; }

    public string? Options { get; init; }

    public string? Error { get; init; }

    public string? RerunOf { get; init; }

    public string? Parent { get; init; }

    public int ChildNumber { get; init; }

    public string? Children { get; init; }

    public DateTime Timestamp { get; init; }

    /// <summary>For a graph description: the description (then <see cref="Node"/> and the run fields are unused).</summary>
    public string? Description { get; init; }

    /// <summary>For a run's start checkpoint made by a worker: the queue item the run is for (see <see cref="QueueItemScope"/>).</summary>
    public long? QueueItem { get; init; }
}

/// <summary>
/// The PostgreSQL side of the checkpoint writer: writes one batch in one transaction on a pooled connection, as one
/// round trip of set-based statements over arrays (<c>unnest</c>): each run's latest checkpoint of the batch into
/// <c>checkpoints</c> and <c>durable_runs</c>, new graph descriptions, and the queue items whose runs start in this
/// batch. An earlier checkpoint of the same run in the same batch is superseded before it was ever committed, so it is
/// not written (as in the SQLite store). Called from the writer's loop only.
/// </summary>
/// <remarks>
/// While a worker serves the queue from this store (<see cref="QueueWorker"/>), a run's final checkpoint also records
/// its queue item's final state and result, in the same statement round trip and transaction: the item is final exactly
/// when its run's end is committed, and only if that worker still holds its lease (a worker whose lease was taken over
/// changes nothing). So a worker's runs need no outcome write of their own.
/// </remarks>
internal sealed class CheckpointTarget(PostgresDatabase database) : IBatchTarget<CheckpointWrite>
{
    private readonly Dictionary<string, CheckpointWrite> _latest = new(StringComparer.Ordinal);
    private volatile string? _queueWorker;

    /// <summary>The worker whose queue items the final checkpoints finish; null when no worker serves the queue from this store.</summary>
    public string? QueueWorker
    {
        get => _queueWorker;
        set => _queueWorker = value;
    }

    public async ValueTask WriteBatchAsync(IReadOnlyList<CheckpointWrite> batch, CancellationToken cancellationToken)
    {
        _latest.Clear();
        List<CheckpointWrite>? graphs = null;
        List<CheckpointWrite>? items = null;
        foreach (var write in batch)
        {
            if (write.Description is not null)
            {
                (graphs ??= []).Add(write);
                continue;
            }

            if (write.QueueItem is not null)
            {
                (items ??= []).Add(write);
            }

            if (!_latest.TryGetValue(write.RunId, out var earlier) || earlier.Seq < write.Seq)
            {
                _latest[write.RunId] = write;
            }
        }

        var doing = $"write a batch of {batch.Count} checkpoints to";
        try
        {
            var connection = await database.OpenWriterAsync(doing, cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    await WriteAsync(connection, graphs, items, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception) when (database.DiscardWriters())
                {
                    throw;
                }
            }
        }
        catch (NpgsqlException ex)
        {
            throw database.Error(ex, doing);
        }
        finally
        {
            _latest.Clear();
        }
    }

    public bool IsTransient(Exception exception) => exception is StoreUnavailableException;

    private async Task WriteAsync(NpgsqlConnection connection, List<CheckpointWrite>? graphs, List<CheckpointWrite>? items, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var statements = new NpgsqlBatch(connection, transaction);
            await using (statements.ConfigureAwait(false))
            {
                if (graphs is not null)
                {
                    statements.BatchCommands.Add(Graphs(graphs));
                }

                // Read once: every statement of the batch is fenced on the same worker (or none).
                var worker = QueueWorker;
                if (items is not null)
                {
                    statements.BatchCommands.Add(Items(items, worker));
                }

                if (_latest.Count > 0)
                {
                    var rows = _latest.Values.ToArray();
                    statements.BatchCommands.Add(Checkpoints(rows, worker));
                    statements.BatchCommands.Add(Runs(rows, worker));
                }

                if (worker is not null && Finals() is { Length: > 0 } finals)
                {
                    statements.BatchCommands.Add(Finish(finals, worker));
                }

                await statements.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private NpgsqlBatchCommand Graphs(List<CheckpointWrite> graphs)
        => Command(
            $"INSERT INTO {database.Table("checkpoint_graphs")} (fingerprint, graph, description) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (fingerprint) DO NOTHING",
            Text(graphs, w => w.Fingerprint),
            Text(graphs, w => w.Graph),
            Text(graphs, w => PgText.Clean(w.Description!)));

    private NpgsqlBatchCommand Checkpoints(CheckpointWrite[] rows, string? worker)
        => Fenced(
            worker,
            $"INSERT INTO {database.Table("checkpoints")} (run_id, seq, session_id, graph, fingerprint, state, step, node_type, node, trace, gates, gates_resolved, gate_number, iterations, options, error, rerun_of, timestamp, parent, child_number, children) " +
            "SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bool[], $13::int[], $14::int[], $15::text[], $16::text[], $17::text[], $18::timestamptz[], $19::text[], $20::int[], $21::text[]) " +
            "AS c(run_id, seq, session_id, graph, fingerprint, state, step, node_type, node, trace, gates, gates_resolved, gate_number, iterations, options, error, rerun_of, timestamp, parent, child_number, children) " +
            (worker is null ? string.Empty : OwnedBy(22)) +
            "ON CONFLICT (run_id, seq) DO UPDATE SET session_id = excluded.session_id, graph = excluded.graph, fingerprint = excluded.fingerprint, state = excluded.state, step = excluded.step, " +
            "node_type = excluded.node_type, node = excluded.node, trace = excluded.trace, gates = excluded.gates, gates_resolved = excluded.gates_resolved, gate_number = excluded.gate_number, " +
            "iterations = excluded.iterations, options = excluded.options, error = excluded.error, rerun_of = excluded.rerun_of, timestamp = excluded.timestamp, " +
            "parent = excluded.parent, child_number = excluded.child_number, children = excluded.children",
            Text(rows, w => w.RunId),
            Ints(rows, w => w.Seq),
            Text(rows, w => w.SessionId),
            Text(rows, w => w.Graph),
            Text(rows, w => w.Fingerprint),
            Text(rows, w => w.State),
            Ints(rows, w => w.Step),
            Text(rows, w => w.NodeType),
            Text(rows, w => w.Node),
            Text(rows, w => w.Trace),
            Text(rows, w => w.Gates),
            new NpgsqlParameter<bool[]> { TypedValue = [.. rows.Select(w => w.GatesResolved)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean },
            Ints(rows, w => w.GateNumber),
            Ints(rows, w => w.Iterations),
            Text(rows, w => w.Options),
            Text(rows, w => w.Error),
            Text(rows, w => w.RerunOf),
            new NpgsqlParameter<DateTime[]> { TypedValue = [.. rows.Select(w => w.Timestamp)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
            Text(rows, w => w.Parent),
            Ints(rows, w => w.ChildNumber),
            Text(rows, w => w.Children));

    private NpgsqlBatchCommand Runs(CheckpointWrite[] rows, string? worker)
        => Fenced(
            worker,
            $"INSERT INTO {database.Table("durable_runs")} AS r (run_id, graph, state, seq, session_id, rerun_of, updated_at, parent) " +
            "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[], $8::text[]) AS c(run_id, graph, state, seq, session_id, rerun_of, updated_at, parent) " +
            (worker is null ? string.Empty : OwnedBy(9)) +
            "ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, seq = excluded.seq, session_id = excluded.session_id, updated_at = excluded.updated_at WHERE excluded.seq >= r.seq",
            Text(rows, w => w.RunId),
            Text(rows, w => w.Graph),
            Text(rows, w => w.State),
            Ints(rows, w => w.Seq),
            Text(rows, w => w.SessionId),
            Text(rows, w => w.RerunOf),
            new NpgsqlParameter<DateTime[]> { TypedValue = [.. rows.Select(w => w.Timestamp)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
            Text(rows, w => w.Parent));

    /// <summary>The batch's final checkpoints (a final one is always its run's latest).</summary>
    private CheckpointWrite[] Finals()
        => [.. _latest.Values.Where(w => w.State is nameof(CheckpointState.Done) or nameof(CheckpointState.Failed) or nameof(CheckpointState.Cancelled))];

    /// <summary>
    /// Finishes the queue items of runs that ended, if <paramref name="worker"/> still leases them, and counts them on
    /// the worker's row: the result of a Done run is its final node's JSON, the error of a failed or cancelled one its
    /// reason. The rows are locked in id order, as every other write of the queue locks them.
    /// </summary>
    private NpgsqlBatchCommand Finish(CheckpointWrite[] finals, string worker)
        => Command(
            $"WITH f AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS f(run_id, state, result, error)), " +
            $"l AS (SELECT id FROM {database.Table("job_items")} WHERE run_id IN (SELECT run_id FROM f) AND worker = $5 AND state = 'leased' ORDER BY id FOR UPDATE), " +
            $"u AS (UPDATE {database.Table("job_items")} i SET state = f.state, result = f.result, error = f.error, lease_expires = NULL, finished_at = now() " +
            "FROM f WHERE i.run_id = f.run_id AND i.id IN (SELECT id FROM l) RETURNING i.state) " +
            $"UPDATE {database.Table("workers")} SET done = done + (SELECT count(*) FROM u WHERE state = 'done'), failed = failed + (SELECT count(*) FROM u WHERE state = 'failed'), " +
            "cancelled = cancelled + (SELECT count(*) FROM u WHERE state = 'cancelled') WHERE id = $5",
            Text(finals, w => w.RunId),
            Text(finals, w => w.State.ToLowerInvariant()),
            Text(finals, w => w.State == nameof(CheckpointState.Done) ? w.Node : null),
            Text(finals, w => w.State == nameof(CheckpointState.Done) ? null : w.Error),
            new NpgsqlParameter<string> { TypedValue = worker });

    private NpgsqlBatchCommand Items(List<CheckpointWrite> items, string? worker)
        => Fenced(
            worker,
            $"UPDATE {database.Table("job_items")} i SET run_id = u.run_id FROM unnest($1::bigint[], $2::text[]) AS u(id, run_id) WHERE i.id = u.id AND i.run_id IS NULL" +
            (worker is null ? string.Empty : " AND i.worker = $3 AND i.state = 'leased'"),
            new NpgsqlParameter<long[]> { TypedValue = [.. items.Select(w => w.QueueItem!.Value)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
            Text(items, w => w.RunId));

    /// <summary>
    /// Fencing, while a worker serves the queue: a checkpoint of a run tied to a queue item is written only while this
    /// worker leases that item. A worker whose lease lapsed and was taken over (a long pause, a cut network) still runs
    /// its copy of the run; its late checkpoints must not overwrite those of the worker that resumed the run.
    /// </summary>
    private string OwnedBy(int workerParameter)
        => $"WHERE NOT EXISTS (SELECT 1 FROM {database.Table("job_items")} i WHERE i.run_id = c.run_id AND (i.worker IS DISTINCT FROM ${workerParameter} OR i.state <> 'leased')) ";

    private static NpgsqlBatchCommand Fenced(string? worker, string sql, params NpgsqlParameter[] parameters)
    {
        var command = Command(sql, parameters);
        if (worker is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
        }

        return command;
    }

    private static NpgsqlBatchCommand Command(string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddRange(parameters);
        return command;
    }

    private static NpgsqlParameter Text(IEnumerable<CheckpointWrite> rows, Func<CheckpointWrite, string?> column)
        => new() { Value = rows.Select(column).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlParameter Ints(IEnumerable<CheckpointWrite> rows, Func<CheckpointWrite, int> column)
        => new NpgsqlParameter<int[]> { TypedValue = [.. rows.Select(column)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer };
}

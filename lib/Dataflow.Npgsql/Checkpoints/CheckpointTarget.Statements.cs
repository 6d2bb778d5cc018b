using Dataflow.Checkpoints;
using Npgsql;
using NpgsqlTypes;

namespace Dataflow.Npgsql.Checkpoints;

/// <summary>The statements of a checkpoint batch, each over arrays of the batch's rows (<c>unnest</c>); constant text per shape, so prepared once per connection.</summary>
internal sealed partial class CheckpointTarget
{
    private const string CheckpointColumns =
        "run_id, seq, session_id, graph, fingerprint, state, step, node_type, node, trace, gates, gates_resolved, gate_number, iterations, options, error, rerun_of, timestamp, parent, child_number, children";

    private const string CheckpointArrays =
        "$1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bool[], $13::int[], $14::int[], $15::text[], $16::text[], $17::text[], $18::timestamptz[], $19::text[], $20::int[], $21::text[]";

    private const string RunColumns = "run_id, graph, state, seq, session_id, rerun_of, updated_at, parent";

    private const string RunArrays = "$1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[], $8::text[]";

    private NpgsqlBatchCommand Graphs(List<CheckpointWrite> graphs)
        => Command(
            $"INSERT INTO {database.Table("checkpoint_graphs")} (fingerprint, graph, description) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT (fingerprint) DO NOTHING",
            Text(graphs, w => w.Fingerprint),
            Text(graphs, w => w.Graph),
            Text(graphs, w => PgText.Clean(w.Description!)));

    private NpgsqlBatchCommand Checkpoints(CheckpointWrite[] rows, long?[]? items, string? worker)
    {
        var command = Command(
            $"INSERT INTO {database.Table("checkpoints")} ({CheckpointColumns}) " +
            (worker is null
                ? $"SELECT * FROM unnest({CheckpointArrays}) "
                : $"SELECT {CheckpointColumns} FROM unnest({CheckpointArrays}, $22::bigint[]) AS c({CheckpointColumns}, item) {OwnedBy(23)}") +
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
            new NpgsqlParameter<bool[]> { TypedValue = Array.ConvertAll(rows, w => w.GatesResolved), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Boolean },
            Ints(rows, w => w.GateNumber),
            Ints(rows, w => w.Iterations),
            Text(rows, w => w.Options),
            Text(rows, w => w.Error),
            Text(rows, w => w.RerunOf),
            new NpgsqlParameter<DateTime[]> { TypedValue = Array.ConvertAll(rows, w => w.Timestamp), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
            Text(rows, w => w.Parent),
            Ints(rows, w => w.ChildNumber),
            Text(rows, w => w.Children));
        return Fenced(command, items, worker);
    }

    private NpgsqlBatchCommand Runs(List<(CheckpointWrite Write, long? Item)> changes, string? worker)
    {
        var rows = changes.ConvertAll(c => c.Write).ToArray();
        var command = Command(
            $"INSERT INTO {database.Table("durable_runs")} AS r ({RunColumns}) " +
            (worker is null
                ? $"SELECT * FROM unnest({RunArrays}) "
                : $"SELECT {RunColumns} FROM unnest({RunArrays}, $9::bigint[]) AS c({RunColumns}, item) {OwnedBy(10)}") +
            "ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, seq = excluded.seq, session_id = excluded.session_id, updated_at = excluded.updated_at WHERE excluded.seq >= r.seq",
            Text(rows, w => w.RunId),
            Text(rows, w => w.Graph),
            Text(rows, w => w.State),
            Ints(rows, w => w.Seq),
            Text(rows, w => w.SessionId),
            Text(rows, w => w.RerunOf),
            new NpgsqlParameter<DateTime[]> { TypedValue = Array.ConvertAll(rows, w => w.Timestamp), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz },
            Text(rows, w => w.Parent));
        return Fenced(command, worker is null ? null : changes.ConvertAll(c => c.Item).ToArray(), worker);
    }

    /// <summary>
    /// Finishes the queue items of runs that ended, if <paramref name="worker"/> still leases them for those runs, and
    /// counts them on the worker's row: the result of a Done run is its final node's JSON, the error of a failed or
    /// cancelled one its reason. The rows are locked in id order, as every other write of the queue locks them.
    /// </summary>
    private NpgsqlBatchCommand Finish(List<(CheckpointWrite Write, long Item)> finals, string worker)
    {
        var rows = finals.ConvertAll(f => f.Write).ToArray();
        return Command(
            $"WITH f AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS f(id, run_id, state, result, error)), " +
            $"l AS (SELECT i.id FROM {database.Table("job_items")} i JOIN f ON f.id = i.id AND f.run_id = i.run_id WHERE i.worker = $6 AND i.state = 'leased' ORDER BY i.id FOR UPDATE OF i), " +
            $"u AS (UPDATE {database.Table("job_items")} i SET state = f.state, result = f.result, error = f.error, lease_expires = NULL, finished_at = now() " +
            "FROM f WHERE i.id = f.id AND i.id IN (SELECT id FROM l) RETURNING i.state) " +
            $"UPDATE {database.Table("workers")} SET done = done + (SELECT count(*) FROM u WHERE state = 'done'), failed = failed + (SELECT count(*) FROM u WHERE state = 'failed'), " +
            "cancelled = cancelled + (SELECT count(*) FROM u WHERE state = 'cancelled') WHERE id = $6",
            new NpgsqlParameter<long[]> { TypedValue = finals.ConvertAll(f => f.Item).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
            Text(rows, w => w.RunId),
            Text(rows, w => w.State.ToLowerInvariant()),
            Text(rows, w => w.State == nameof(CheckpointState.Done) ? w.Node : null),
            Text(rows, w => w.State == nameof(CheckpointState.Done) ? null : w.Error),
            new NpgsqlParameter<string> { TypedValue = worker });
    }

    /// <summary>
    /// Ties queue items to the runs that start in this batch (only while the worker leases them). Only the unindexed
    /// <c>run_id</c> changes, on a table that leaves room in its pages: a heap-only update (see schema version 5).
    /// </summary>
    private NpgsqlBatchCommand Items(List<CheckpointWrite> items, string? worker)
    {
        var command = Command(
            $"UPDATE {database.Table("job_items")} i SET run_id = u.run_id FROM unnest($1::bigint[], $2::text[]) AS u(id, run_id) WHERE i.id = u.id AND i.run_id IS NULL" +
            (worker is null ? string.Empty : " AND i.worker = $3 AND i.state = 'leased'"),
            new NpgsqlParameter<long[]> { TypedValue = [.. items.Select(w => w.QueueItem!.Value)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
            Text(items, w => w.RunId));
        if (worker is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = worker });
        }

        return command;
    }

    /// <summary>
    /// Fencing, while a worker serves the queue: a checkpoint of a run tied to a queue item (<c>c.item</c>, from
    /// <see cref="Ties"/>) is written only while this worker leases that item for that run. A worker whose lease lapsed
    /// and was taken over (a long pause, a cut network) still runs its copy of the run; its late checkpoints must not
    /// overwrite those of the worker that resumed the run. The item is read by its primary key.
    /// </summary>
    private string OwnedBy(int workerParameter)
        => $"WHERE c.item IS NULL OR EXISTS (SELECT 1 FROM {database.Table("job_items")} i WHERE i.id = c.item AND i.run_id = c.run_id AND i.worker = ${workerParameter} AND i.state = 'leased') ";

    /// <summary>Adds the fence's parameters (the rows' items, the worker) to a statement written with <see cref="OwnedBy"/>.</summary>
    private static NpgsqlBatchCommand Fenced(NpgsqlBatchCommand command, long?[]? items, string? worker)
    {
        if (worker is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = items!, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
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

    private static NpgsqlParameter Text(CheckpointWrite[] rows, Func<CheckpointWrite, string?> column)
        => new() { Value = Array.ConvertAll(rows, w => column(w)), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlParameter Text(List<CheckpointWrite> rows, Func<CheckpointWrite, string?> column)
        => new() { Value = rows.ConvertAll(w => column(w)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlParameter Ints(CheckpointWrite[] rows, Func<CheckpointWrite, int> column)
        => new NpgsqlParameter<int[]> { TypedValue = Array.ConvertAll(rows, w => column(w)), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer };
}

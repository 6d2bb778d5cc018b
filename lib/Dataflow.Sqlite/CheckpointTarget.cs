using Dapper;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

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

    public required string Timestamp { get; init; }

    /// <summary>For a graph description: the description (then <see cref="Node"/> and the run fields are unused).</summary>
    public string? Description { get; init; }
}

/// <summary>
/// The SQLite side of the checkpoint writer: writes one batch of checkpoints in one <c>BEGIN IMMEDIATE</c>
/// transaction on the writer's own connection, each run's latest checkpoint of the batch into <c>checkpoints</c> and
/// <c>durable_runs</c>. An earlier checkpoint of the same run in the same batch is superseded before it was ever
/// committed, so it is not written: with group commit a run has one checkpoint per batch anyway (it waits for each
/// commit); written behind, a run's quick transitions cost one row per batch, and its list of checkpoints
/// (<c>show</c>) has gaps. Called from the writer's loop only.
/// </summary>
internal sealed class CheckpointTarget(SqliteConnection connection, string path) : IBatchTarget<CheckpointWrite>
{
    private const string InsertCheckpointSql =
        "INSERT OR REPLACE INTO checkpoints (run_id, seq, session_id, graph, fingerprint, state, step, node_type, node, trace, gates, gates_resolved, gate_number, iterations, options, error, rerun_of, timestamp) " +
        "VALUES (@RunId, @Seq, @SessionId, @Graph, @Fingerprint, @State, @Step, @NodeType, @Node, @Trace, @Gates, @GatesResolved, @GateNumber, @Iterations, @Options, @Error, @RerunOf, @Timestamp)";

    private const string UpsertRunSql =
        "INSERT INTO durable_runs (run_id, graph, state, seq, session_id, rerun_of, updated_at) VALUES (@RunId, @Graph, @State, @Seq, @SessionId, @RerunOf, @Timestamp) " +
        "ON CONFLICT (run_id) DO UPDATE SET state = excluded.state, seq = excluded.seq, session_id = excluded.session_id, updated_at = excluded.updated_at WHERE excluded.seq >= durable_runs.seq";

    private const string InsertGraphSql = "INSERT OR IGNORE INTO checkpoint_graphs (fingerprint, graph, description) VALUES (@Fingerprint, @Graph, @Description)";

    private readonly Dictionary<string, CheckpointWrite> _latest = new(StringComparer.Ordinal);

    public ValueTask WriteBatchAsync(IReadOnlyList<CheckpointWrite> batch, CancellationToken cancellationToken)
    {
        _latest.Clear();
        List<CheckpointWrite>? graphs = null;
        foreach (var write in batch)
        {
            if (write.Description is not null)
            {
                (graphs ??= []).Add(write);
                continue;
            }

            if (!_latest.TryGetValue(write.RunId, out var earlier) || earlier.Seq < write.Seq)
            {
                _latest[write.RunId] = write;
            }
        }

        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            if (graphs is not null)
            {
                connection.Execute(InsertGraphSql, graphs, transaction);
            }

            if (_latest.Count > 0)
            {
                connection.Execute(InsertCheckpointSql, _latest.Values, transaction);
                connection.Execute(UpsertRunSql, _latest.Values, transaction);
            }

            transaction.Commit();
            return default;
        }
        catch (SqliteException ex)
        {
            throw StoreErrors.From(ex, path, $"write a batch of {batch.Count} checkpoints to");
        }
        finally
        {
            _latest.Clear();
        }
    }

    public bool IsTransient(Exception exception) => exception is StoreLockedException;
}

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
/// transaction on the writer's own connection: every checkpoint into <c>checkpoints</c>, and each run's latest one
/// into <c>durable_runs</c> (one upsert per run of the batch, however many checkpoints it made). Called from the
/// writer's loop only.
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
    private readonly List<CheckpointWrite> _checkpoints = [];

    public ValueTask WriteBatchAsync(IReadOnlyList<CheckpointWrite> batch, CancellationToken cancellationToken)
    {
        _latest.Clear();
        _checkpoints.Clear();
        List<CheckpointWrite>? graphs = null;
        foreach (var write in batch)
        {
            if (write.Description is not null)
            {
                (graphs ??= []).Add(write);
                continue;
            }

            _checkpoints.Add(write);
            _latest[write.RunId] = write;
        }

        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            if (graphs is not null)
            {
                connection.Execute(InsertGraphSql, graphs, transaction);
            }

            if (_checkpoints.Count > 0)
            {
                connection.Execute(InsertCheckpointSql, _checkpoints, transaction);
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
            _checkpoints.Clear();
        }
    }

    public bool IsTransient(Exception exception) => exception is StoreLockedException;
}

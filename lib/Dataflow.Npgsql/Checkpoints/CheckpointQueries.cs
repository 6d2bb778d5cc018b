using Dapper;
using Dataflow.Checkpoints;
using Npgsql;

namespace Dataflow.Npgsql.Checkpoints;

/// <summary>The reads of durable runs' checkpoints, shared by the store and the read-only history.</summary>
internal static class CheckpointQueries
{
    private const string Columns =
        "c.run_id AS RunId, c.seq AS Seq, c.graph AS Graph, c.fingerprint AS Fingerprint, c.state AS State, c.step AS Step, c.node_type AS NodeType, " +
        "c.node AS Node, c.trace AS Trace, c.gates AS Gates, c.gates_resolved AS GatesResolved, c.gate_number AS GateNumber, c.iterations AS Iterations, " +
        "c.options AS Options, c.error AS Error, c.rerun_of AS RerunOf, c.timestamp AS Timestamp, c.parent AS Parent, c.child_number AS ChildNumber, c.children AS Children";

    /// <summary>
    /// The graph's unfinished runs to resume, but those of a work queue's inputs: workers resume those when they take
    /// the inputs over, under a lease, so a <c>dataflow resume</c> beside them never runs an input a worker holds.
    /// </summary>
    public static async Task<ResumableRuns> ResumableAsync(NpgsqlConnection connection, PostgresDatabase database, string graph, CancellationToken cancellationToken)
    {
        var unfinished = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM {database.Table("durable_runs")} r {LatestCheckpoint(database)} " +
            "WHERE r.graph = @Graph AND r.state IN ('Running', 'Waiting', 'AwaitingChildren') " +
            $"AND NOT EXISTS (SELECT 1 FROM {database.Table("job_items")} i WHERE i.run_id = r.run_id) ORDER BY c.run_id",
            new { Graph = graph },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        var finished = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT count(*) FROM {database.Table("durable_runs")} WHERE graph = @Graph AND state IN ('Done', 'Failed', 'Cancelled') AND parent IS NULL",
            new { Graph = graph },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return new ResumableRuns([.. unfinished.Select(r => r.ToCheckpoint())], finished);
    }

    /// <summary>
    /// Joins each run (<c>r</c>) to its latest checkpoint (<c>c</c>): the one with its highest sequence, one step down the
    /// checkpoints' primary key. (<c>durable_runs.seq</c> is the checkpoint that set the run's state, not always its latest.)
    /// </summary>
    private static string LatestCheckpoint(PostgresDatabase database)
        => $"CROSS JOIN LATERAL (SELECT * FROM {database.Table("checkpoints")} l WHERE l.run_id = r.run_id ORDER BY l.seq DESC LIMIT 1) c";

    public static async Task<IReadOnlyList<RunCheckpoint>> RunAsync(NpgsqlConnection connection, PostgresDatabase database, string runId, CancellationToken cancellationToken)
        => [.. (await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM {database.Table("checkpoints")} c WHERE c.run_id = @RunId ORDER BY c.seq",
            new { RunId = runId },
            cancellationToken: cancellationToken)).ConfigureAwait(false)).Select(r => r.ToCheckpoint())];

    /// <summary>The latest committed checkpoint of each of <paramref name="runIds"/> that the store has (a queue item's run may have no <c>durable_runs</c> row yet).</summary>
    public static async Task<IReadOnlyList<RunCheckpoint>> LatestAsync(NpgsqlConnection connection, PostgresDatabase database, IReadOnlyCollection<string> runIds, CancellationToken cancellationToken)
        => [.. (await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM unnest(@RunIds) AS r(run_id) {LatestCheckpoint(database)}",
            new { RunIds = runIds.ToArray() },
            cancellationToken: cancellationToken)).ConfigureAwait(false)).Select(r => r.ToCheckpoint())];

    public static async Task<IReadOnlyList<string>> FailedRunsAsync(NpgsqlConnection connection, PostgresDatabase database, string graph, string? sessionId, CancellationToken cancellationToken)
    {
        var runs = database.Table("durable_runs");
        var notRerun = $"NOT EXISTS (SELECT 1 FROM {runs} x WHERE x.rerun_of = r.run_id)";
        sessionId ??= await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            $"SELECT r.session_id FROM {runs} r JOIN {database.Table("sessions")} s ON s.id = r.session_id WHERE r.graph = @Graph AND r.state = 'Failed' AND r.parent IS NULL AND {notRerun} ORDER BY s.started_at DESC LIMIT 1",
            new { Graph = graph },
            cancellationToken: cancellationToken)).ConfigureAwait(false);
        return sessionId is null
            ? []
            : [.. await connection.QueryAsync<string>(new CommandDefinition(
                $"SELECT r.run_id FROM {runs} r WHERE r.graph = @Graph AND r.state = 'Failed' AND r.parent IS NULL AND r.session_id = @SessionId AND {notRerun} ORDER BY r.updated_at, r.run_id",
                new { Graph = graph, SessionId = sessionId },
                cancellationToken: cancellationToken)).ConfigureAwait(false)];
    }

    public static Task<string?> GraphDescriptionAsync(NpgsqlConnection connection, PostgresDatabase database, string fingerprint, CancellationToken cancellationToken)
        => connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            $"SELECT description FROM {database.Table("checkpoint_graphs")} WHERE fingerprint = @Fingerprint",
            new { Fingerprint = fingerprint },
            cancellationToken: cancellationToken));

    /// <summary>One row as read; Dapper fills it by column alias.</summary>
    private sealed class Row
    {
        public string RunId { get; init; } = string.Empty;

        public int Seq { get; init; }

        public string Graph { get; init; } = string.Empty;

        public string Fingerprint { get; init; } = string.Empty;

        public string State { get; init; } = string.Empty;

        public int Step { get; init; }

        public string NodeType { get; init; } = string.Empty;

        public string Node { get; init; } = string.Empty;

        public string? Trace { get; init; }

        public string? Gates { get; init; }

        public bool GatesResolved { get; init; }

        public int GateNumber { get; init; }

        public int Iterations { get; init; }

        public string? Options { get; init; }

        public string? Error { get; init; }

        public string? RerunOf { get; init; }

        public DateTime Timestamp { get; init; }

        public string? Parent { get; init; }

        public int ChildNumber { get; init; }

        public string? Children { get; init; }

        public RunCheckpoint ToCheckpoint()
            => new(RunId, Seq, Graph, Fingerprint, Enum.Parse<CheckpointState>(State), Step, NodeType, Node, new DateTimeOffset(DateTime.SpecifyKind(Timestamp, DateTimeKind.Utc)))
            {
                Trace = Trace,
                Gates = Gates,
                GatesResolved = GatesResolved,
                GateNumber = GateNumber,
                Iterations = Iterations,
                Options = Options,
                Error = Error,
                RerunOf = RerunOf,
                Parent = Parent,
                ChildNumber = ChildNumber,
                Children = Children,
            };
    }
}

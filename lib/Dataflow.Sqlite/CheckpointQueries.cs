using Dapper;
using Dataflow.Checkpoints;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>The reads of durable runs' checkpoints, shared by the store and the read-only history.</summary>
internal static class CheckpointQueries
{
    private const string Columns =
        "c.run_id AS RunId, c.seq AS Seq, c.graph AS Graph, c.fingerprint AS Fingerprint, c.state AS State, c.step AS Step, c.node_type AS NodeType, " +
        "c.node AS Node, c.trace AS Trace, c.gates AS Gates, c.gates_resolved AS GatesResolved, c.gate_number AS GateNumber, c.iterations AS Iterations, " +
        "c.options AS Options, c.error AS Error, c.rerun_of AS RerunOf, c.timestamp AS Timestamp";

    public static ResumableRuns Resumable(SqliteConnection connection, string path, string graph)
    {
        Require(connection, path);
        var unfinished = connection.Query<Row>(
            $"SELECT {Columns} FROM durable_runs r JOIN checkpoints c ON c.run_id = r.run_id AND c.seq = r.seq WHERE r.graph = @Graph AND r.state IN ('Running', 'Waiting') ORDER BY c.run_id",
            new { Graph = graph }).Select(r => r.ToCheckpoint()).ToList();
        var finished = connection.ExecuteScalar<long>("SELECT count(*) FROM durable_runs WHERE graph = @Graph AND state IN ('Done', 'Failed', 'Cancelled')", new { Graph = graph });
        return new ResumableRuns(unfinished, finished);
    }

    public static IReadOnlyList<RunCheckpoint> Run(SqliteConnection connection, string path, string runId)
    {
        Require(connection, path);
        return [.. connection.Query<Row>($"SELECT {Columns} FROM checkpoints c WHERE c.run_id = @RunId ORDER BY c.seq", new { RunId = runId }).Select(r => r.ToCheckpoint())];
    }

    public static IReadOnlyList<string> FailedRuns(SqliteConnection connection, string path, string graph, string? sessionId)
    {
        Require(connection, path);
        const string NotRerun = "NOT EXISTS (SELECT 1 FROM durable_runs x WHERE x.rerun_of = r.run_id)";
        sessionId ??= connection.ExecuteScalar<string?>(
            $"SELECT r.session_id FROM durable_runs r JOIN sessions s ON s.id = r.session_id WHERE r.graph = @Graph AND r.state = 'Failed' AND {NotRerun} ORDER BY s.started_at DESC LIMIT 1",
            new { Graph = graph });
        return sessionId is null
            ? []
            : [.. connection.Query<string>($"SELECT r.run_id FROM durable_runs r WHERE r.graph = @Graph AND r.state = 'Failed' AND r.session_id = @SessionId AND {NotRerun} ORDER BY r.updated_at, r.run_id", new { Graph = graph, SessionId = sessionId })];
    }

    public static string? GraphDescription(SqliteConnection connection, string path, string fingerprint)
    {
        Require(connection, path);
        return connection.ExecuteScalar<string?>("SELECT description FROM checkpoint_graphs WHERE fingerprint = @Fingerprint", new { Fingerprint = fingerprint });
    }

    /// <summary>Throws <see cref="CheckpointsUnavailableException"/> when the file has no checkpoint tables (an older schema, read-only).</summary>
    public static void Require(SqliteConnection connection, string path)
    {
        if (connection.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('checkpoints', 'durable_runs', 'checkpoint_graphs')") < 3)
        {
            var version = connection.ExecuteScalar<long>("PRAGMA user_version");
            throw new CheckpointsUnavailableException(
                $"The session store '{path}' has schema version {version}, which has no checkpoint tables (they came with version 5). " +
                "Open it once for writing (a SessionStore, or `dataflow run`) to migrate it; read-only, it has no checkpoints to show.");
        }
    }

    /// <summary>One row as read; Dapper fills it by column alias.</summary>
    private sealed class Row
    {
        public string RunId { get; init; } = string.Empty;

        public long Seq { get; init; }

        public string Graph { get; init; } = string.Empty;

        public string Fingerprint { get; init; } = string.Empty;

        public string State { get; init; } = string.Empty;

        public long Step { get; init; }

        public string NodeType { get; init; } = string.Empty;

        public string Node { get; init; } = string.Empty;

        public string? Trace { get; init; }

        public string? Gates { get; init; }

        public long GatesResolved { get; init; }

        public long GateNumber { get; init; }

        public long Iterations { get; init; }

        public string? Options { get; init; }

        public string? Error { get; init; }

        public string? RerunOf { get; init; }

        public string Timestamp { get; init; } = string.Empty;

        public RunCheckpoint ToCheckpoint()
            => new(RunId, (int)Seq, Graph, Fingerprint, Enum.Parse<CheckpointState>(State), (int)Step, NodeType, Node, DateTimeOffset.Parse(Timestamp, System.Globalization.CultureInfo.InvariantCulture))
            {
                Trace = Trace,
                Gates = Gates,
                GatesResolved = GatesResolved != 0,
                GateNumber = (int)GateNumber,
                Iterations = (int)Iterations,
                Options = Options,
                Error = Error,
                RerunOf = RerunOf,
            };
    }
}

using System.Text.Json;
using Dapper;
using Dataflow.Checkpoints;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>The reads of durable runs' checkpoints, shared by the store and the read-only history.</summary>
internal static class CheckpointQueries
{
    public static ResumableRuns Resumable(SqliteConnection connection, string path, string graph)
    {
        Require(connection, path);

        // First pass, reading only ids, sequences and states: the log in the order it was written, where a run's
        // checkpoints come in sequence order and a final one is its last. What remains is each unfinished run's latest
        // checkpoint: its row and place in the row.
        var latest = new Dictionary<string, (long Row, int Index, int Sequence)>(StringComparer.Ordinal);
        long finished = 0;
        foreach (var row in connection.Query<LogRow>("SELECT id AS Id, body AS Body FROM checkpoint_log WHERE graph = @Graph ORDER BY id", new { Graph = graph }, buffered: false))
        {
            using var document = JsonDocument.Parse(CheckpointLog.Unpack(row.Body));
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                var runId = element.GetProperty("r").GetString()!;
                if (CheckpointLog.IsFinal(element))
                {
                    // Children are counted with their parents, not on their own.
                    finished += element.TryGetProperty("pa", out _) ? 0 : 1;
                    latest.Remove(runId);
                }
                else if (element.GetProperty("s").GetInt32() is var sequence && (!latest.TryGetValue(runId, out var earlier) || earlier.Sequence < sequence))
                {
                    latest[runId] = (row.Id, index, sequence);
                }

                index++;
            }
        }

        // Second pass: only the rows that hold a latest checkpoint, and only those checkpoints are read in full.
        var unfinished = new List<RunCheckpoint>(latest.Count);
        var wanted = latest.Values.GroupBy(l => l.Row).ToDictionary(g => g.Key, g => g.Select(l => l.Index).ToHashSet());
        foreach (var chunk in wanted.Keys.Order().Chunk(500))
        {
            foreach (var row in connection.Query<LogRow>(
                "SELECT id AS Id, graph AS Graph, fingerprint AS Fingerprint, body AS Body FROM checkpoint_log WHERE id IN @Ids",
                new { Ids = chunk }))
            {
                using var document = JsonDocument.Parse(CheckpointLog.Unpack(row.Body));
                var indexes = wanted[row.Id];
                var index = 0;
                foreach (var element in document.RootElement.EnumerateArray())
                {
                    if (indexes.Contains(index++))
                    {
                        unfinished.Add(CheckpointLog.Read(element, row.Graph, row.Fingerprint));
                    }
                }
            }
        }

        unfinished.Sort((x, y) => string.CompareOrdinal(x.RunId, y.RunId));
        return new ResumableRuns(unfinished, finished);
    }

    public static IReadOnlyList<RunCheckpoint> Run(SqliteConnection connection, string path, string runId)
    {
        Require(connection, path);
        var (prefix, bucket) = CheckpointLog.BucketOf(runId);
        var rows = connection.Query<LogRow>(
            "SELECT graph AS Graph, fingerprint AS Fingerprint, body AS Body FROM checkpoint_log WHERE run_prefix = @Prefix AND bucket = @Bucket ORDER BY id",
            new { Prefix = prefix, Bucket = bucket });
        return [.. rows.SelectMany(r => CheckpointLog.Decode(r.Body, r.Graph, r.Fingerprint, runId)).OrderBy(c => c.Sequence)];
    }

    /// <summary>The latest checkpoint of each of <paramref name="runIds"/>: each bucket's rows are read once.</summary>
    public static IReadOnlyList<RunCheckpoint> Latest(SqliteConnection connection, string path, IReadOnlyCollection<string> runIds)
    {
        Require(connection, path);
        var wanted = runIds.ToHashSet(StringComparer.Ordinal);
        var latest = new Dictionary<string, RunCheckpoint>(StringComparer.Ordinal);
        foreach (var (prefix, bucket) in wanted.Select(CheckpointLog.BucketOf).Distinct())
        {
            foreach (var row in connection.Query<LogRow>(
                "SELECT graph AS Graph, fingerprint AS Fingerprint, body AS Body FROM checkpoint_log WHERE run_prefix = @Prefix AND bucket = @Bucket ORDER BY id",
                new { Prefix = prefix, Bucket = bucket },
                buffered: false))
            {
                using var document = JsonDocument.Parse(CheckpointLog.Unpack(row.Body));
                foreach (var element in document.RootElement.EnumerateArray())
                {
                    var runId = element.GetProperty("r").GetString()!;
                    if (wanted.Contains(runId) && (!latest.TryGetValue(runId, out var earlier) || earlier.Sequence < element.GetProperty("s").GetInt32()))
                    {
                        latest[runId] = CheckpointLog.Read(element, row.Graph, row.Fingerprint);
                    }
                }
            }
        }

        return [.. latest.Values];
    }

    /// <summary>
    /// The failed runs of <paramref name="graph"/> in <paramref name="sessionId"/> (or in the latest session that has
    /// any) that no run reruns yet, in the order they ended.
    /// </summary>
    public static IReadOnlyList<string> FailedRuns(SqliteConnection connection, string path, string graph, string? sessionId)
    {
        Require(connection, path);
        var failed = new List<(string Session, RunCheckpoint Checkpoint)>();
        var rerun = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in connection.Query<LogRow>(
            "SELECT session_id AS SessionId, graph AS Graph, fingerprint AS Fingerprint, body AS Body FROM checkpoint_log WHERE graph = @Graph ORDER BY id",
            new { Graph = graph },
            buffered: false))
        {
            foreach (var checkpoint in CheckpointLog.Decode(row.Body, row.Graph, row.Fingerprint))
            {
                if (checkpoint.RerunOf is { } of)
                {
                    rerun.Add(of);
                }

                // A child is not rerun on its own: its parent is (see GraphEngine.RerunAsync).
                if (checkpoint.State == CheckpointState.Failed && checkpoint.Parent is null)
                {
                    failed.Add((row.SessionId, checkpoint));
                }
            }
        }

        failed.RemoveAll(f => rerun.Contains(f.Checkpoint.RunId));
        if (sessionId is null)
        {
            var sessions = failed.Select(f => f.Session).Distinct(StringComparer.Ordinal).ToList();
            sessionId = sessions.Count == 0
                ? null
                : connection.ExecuteScalar<string?>(
                    "SELECT id FROM sessions WHERE id IN @Sessions ORDER BY started_at DESC LIMIT 1",
                    new { Sessions = sessions });
        }

        return
        [
            .. failed
                .Where(f => string.Equals(f.Session, sessionId, StringComparison.Ordinal))
                .OrderBy(f => f.Checkpoint.Timestamp)
                .ThenBy(f => f.Checkpoint.RunId, StringComparer.Ordinal)
                .Select(f => f.Checkpoint.RunId),
        ];
    }

    public static string? GraphDescription(SqliteConnection connection, string path, string fingerprint)
    {
        Require(connection, path);
        return connection.ExecuteScalar<string?>("SELECT description FROM checkpoint_graphs WHERE fingerprint = @Fingerprint", new { Fingerprint = fingerprint });
    }

    /// <summary>Throws <see cref="CheckpointsUnavailableException"/> when the file has no checkpoint tables (an older schema, read-only).</summary>
    public static void Require(SqliteConnection connection, string path)
    {
        if (connection.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('checkpoint_log', 'checkpoint_graphs')") < 2)
        {
            var version = connection.ExecuteScalar<long>("PRAGMA user_version");
            throw new CheckpointsUnavailableException(
                $"The session store '{path}' has schema version {version}, which has no checkpoint tables of this release (version {Schema.CurrentVersion} keeps them). " +
                "Open it once for writing (a SessionStore, or `dataflow run`) to migrate it; read-only, it has no checkpoints to show.");
        }
    }

    /// <summary>One <c>checkpoint_log</c> row as read; Dapper fills it by column alias.</summary>
    private sealed class LogRow
    {
        public long Id { get; init; }

        public string SessionId { get; init; } = string.Empty;

        public string Graph { get; init; } = string.Empty;

        public string Fingerprint { get; init; } = string.Empty;

        public byte[] Body { get; init; } = [];
    }
}

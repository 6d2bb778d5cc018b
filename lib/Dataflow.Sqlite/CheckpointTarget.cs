using System.Buffers;
using System.Text.Json;
using Dapper;
using Dataflow.Checkpoints;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// One item for the checkpoint writer: a checkpoint as the engine made it (the writer's loop encodes it into its row,
/// <see cref="CheckpointLog"/>), or a graph description. A struct: queuing a checkpoint allocates nothing more.
/// </summary>
internal readonly record struct CheckpointWrite(RunCheckpoint? Checkpoint, GraphDescription? Description);

/// <summary>A graph's description, stored once per fingerprint.</summary>
internal sealed record GraphDescription(string Graph, string Fingerprint, string Description);

/// <summary>
/// The SQLite side of the checkpoint writer: writes one batch in one <c>BEGIN IMMEDIATE</c> transaction on the
/// writer's own connection, as one <c>checkpoint_log</c> row per graph and run-id bucket in the batch (the checkpoints
/// joined into a JSON array, in the order they were queued), plus any new graph descriptions. Every checkpoint is
/// kept, so a run's list of checkpoints (<c>show</c>) has no gaps in either commit mode. Called from the writer's loop only.
/// </summary>
internal sealed class CheckpointTarget(SqliteConnection connection, string path, string sessionId) : IBatchTarget<CheckpointWrite>
{
    private const string InsertGraphSql = "INSERT OR IGNORE INTO checkpoint_graphs (fingerprint, graph, description) VALUES (@Fingerprint, @Graph, @Description)";

    private readonly Dictionary<(string Graph, string Fingerprint, string Prefix, long Bucket), List<RunCheckpoint>> _groups = [];
    private readonly ArrayBufferWriter<byte> _body = new(64 * 1024);
    private readonly Utf8JsonWriter _json = new(Stream.Null, new JsonWriterOptions { SkipValidation = true });
    private string? _lastPrefix;

    public ValueTask WriteBatchAsync(IReadOnlyList<CheckpointWrite> batch, CancellationToken cancellationToken)
    {
        _groups.Clear();
        List<GraphDescription>? graphs = null;
        foreach (var write in batch)
        {
            if (write.Checkpoint is not { } checkpoint)
            {
                (graphs ??= []).Add(write.Description!);
                continue;
            }

            var (prefix, bucket) = CheckpointLog.BucketOf(checkpoint.RunId, _lastPrefix);
            _lastPrefix = prefix;
            var key = (checkpoint.Graph, checkpoint.Fingerprint, prefix, bucket);
            if (!_groups.TryGetValue(key, out var group))
            {
                _groups[key] = group = [];
            }

            group.Add(checkpoint);
        }

        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            if (graphs is not null)
            {
                connection.Execute(InsertGraphSql, graphs, transaction);
            }

            foreach (var ((graph, fingerprint, prefix, bucket), group) in _groups)
            {
                connection.Execute(CheckpointLog.InsertSql, Row(graph, fingerprint, prefix, bucket, group), transaction);
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
            _groups.Clear();
        }
    }

    public bool IsTransient(Exception exception) => exception is StoreLockedException;

    private object Row(string graph, string fingerprint, string prefix, long bucket, List<RunCheckpoint> items)
    {
        _body.ResetWrittenCount();
        _json.Reset(_body);
        _json.WriteStartArray();
        int finals = 0, failed = 0;
        foreach (var checkpoint in items)
        {
            CheckpointLog.Encode(checkpoint, _json);
            finals += checkpoint.IsFinal ? 1 : 0;
            failed += checkpoint.State == CheckpointState.Failed ? 1 : 0;
        }

        _json.WriteEndArray();
        _json.Flush();
        return new
        {
            SessionId = sessionId,
            Graph = graph,
            Fingerprint = fingerprint,
            RunPrefix = prefix,
            Bucket = bucket,
            Checkpoints = items.Count,
            Finals = finals,
            Failed = failed,
            Body = CheckpointLog.Pack(_body.WrittenSpan),
        };
    }
}

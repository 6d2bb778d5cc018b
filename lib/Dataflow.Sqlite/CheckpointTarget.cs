using System.Buffers;
using Dapper;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>One item for the checkpoint writer: a checkpoint already in its stored form (<see cref="CheckpointLog"/>), or a graph description.</summary>
internal sealed class CheckpointWrite
{
    public required string Graph { get; init; }

    public required string Fingerprint { get; init; }

    /// <summary>The run id's bucket (<see cref="CheckpointLog.BucketOf"/>).</summary>
    public string RunPrefix { get; init; } = string.Empty;

    public long Bucket { get; init; }

    /// <summary>The checkpoint as a UTF-8 JSON object; empty for a graph description.</summary>
    public byte[] Json { get; init; } = [];

    public bool Final { get; init; }

    public bool Failed { get; init; }

    /// <summary>For a graph description: the description (then the checkpoint fields are unused).</summary>
    public string? Description { get; init; }
}

/// <summary>
/// The SQLite side of the checkpoint writer: writes one batch in one <c>BEGIN IMMEDIATE</c> transaction on the
/// writer's own connection, as one <c>checkpoint_log</c> row per graph and run-id bucket in the batch (the checkpoints
/// joined into a JSON array, in the order they were queued), plus any new graph descriptions. Every checkpoint is
/// kept, so a run's list of checkpoints (<c>show</c>) has no gaps in either commit mode. Called from the writer's loop only.
/// </summary>
internal sealed class CheckpointTarget(SqliteConnection connection, string path, string sessionId) : IBatchTarget<CheckpointWrite>
{
    private const string InsertGraphSql = "INSERT OR IGNORE INTO checkpoint_graphs (fingerprint, graph, description) VALUES (@Fingerprint, @Graph, @Description)";

    private readonly Dictionary<(string Graph, string Fingerprint, string Prefix, long Bucket), List<CheckpointWrite>> _groups = [];
    private readonly ArrayBufferWriter<byte> _body = new(64 * 1024);

    public ValueTask WriteBatchAsync(IReadOnlyList<CheckpointWrite> batch, CancellationToken cancellationToken)
    {
        _groups.Clear();
        List<CheckpointWrite>? graphs = null;
        foreach (var write in batch)
        {
            if (write.Description is not null)
            {
                (graphs ??= []).Add(write);
                continue;
            }

            var key = (write.Graph, write.Fingerprint, write.RunPrefix, write.Bucket);
            if (!_groups.TryGetValue(key, out var group))
            {
                _groups[key] = group = [];
            }

            group.Add(write);
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

    private object Row(string graph, string fingerprint, string prefix, long bucket, List<CheckpointWrite> items)
    {
        _body.ResetWrittenCount();
        _body.Write("["u8);
        int finals = 0, failed = 0;
        for (var i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                _body.Write(","u8);
            }

            _body.Write(items[i].Json);
            finals += items[i].Final ? 1 : 0;
            failed += items[i].Failed ? 1 : 0;
        }

        _body.Write("]"u8);
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

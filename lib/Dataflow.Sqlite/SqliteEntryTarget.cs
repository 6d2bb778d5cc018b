using Dapper;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>One entry as the writer inserts it: every column already in its stored form.</summary>
internal sealed class PendingEntry
{
    public required string SessionId { get; init; }

    public required string Timestamp { get; init; }

    public required string Mode { get; init; }

    public required string Channel { get; init; }

    public required string Direction { get; init; }

    public required string Content { get; init; }

    public string? Metadata { get; init; }

    public string? RunId { get; init; }

    public string? Event { get; init; }
}

/// <summary>
/// The SQLite side of the store's <see cref="BatchWriter{T}"/>: writes one batch in one <c>BEGIN IMMEDIATE</c>
/// transaction on the writer's own connection, and indexes it for FTS5 with one statement. Called from the writer's
/// loop only.
/// </summary>
internal sealed class SqliteEntryTarget(SqliteConnection connection, string path, bool indexByTrigger) : IBatchTarget<PendingEntry>
{
    public ValueTask WriteBatchAsync(IReadOnlyList<PendingEntry> batch, CancellationToken cancellationToken)
    {
        // Microsoft.Data.Sqlite runs "async" calls synchronously; the writer's loop is the only caller, so run here.
        try
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            if (indexByTrigger)
            {
                connection.Execute(Schema.InsertEntrySql, batch, transaction);
            }
            else
            {
                // Rowids of one transaction are consecutive after the largest one (no AUTOINCREMENT, and we hold the write lock).
                var after = connection.ExecuteScalar<long>("SELECT coalesce(max(id), 0) FROM entries", transaction: transaction);
                connection.Execute(Schema.InsertEntrySql, batch, transaction);
                connection.Execute(Schema.IndexBatchSql, new { After = after }, transaction);
            }

            transaction.Commit();
            return default;
        }
        catch (SqliteException ex)
        {
            throw StoreErrors.From(ex, path, $"write a batch of {batch.Count} entries to");
        }
    }

    public bool IsTransient(Exception exception) => exception is StoreLockedException;
}

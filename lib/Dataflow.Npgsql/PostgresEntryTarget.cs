using System.Text;
using Dataflow.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Dataflow.Npgsql;

/// <summary>One entry as the writer inserts it: every column already in its stored form (cleaned text, UTC time).</summary>
internal sealed class PendingEntry
{
    public required string SessionId { get; init; }

    public required DateTime Timestamp { get; init; }

    public required string Mode { get; init; }

    public required string Channel { get; init; }

    public required string Direction { get; init; }

    public required string Content { get; init; }

    public string? Metadata { get; init; }

    public string? RunId { get; init; }

    public string? Event { get; init; }
}

/// <summary>How a batch goes to the server.</summary>
internal enum BatchInsert
{
    /// <summary>One binary <c>COPY … FROM STDIN</c> per batch: the default, measured faster (see the bench's <c>store.write</c> rows).</summary>
    Copy,

    /// <summary>Multi-row <c>INSERT … VALUES (…), (…)</c>, up to <see cref="PostgresEntryTarget.RowsPerInsert"/> rows per statement: kept as the bench's baseline.</summary>
    MultiRowInsert,
}

/// <summary>
/// The PostgreSQL side of the store's <see cref="BatchWriter{T}"/>: writes one batch in one transaction on a pooled
/// connection (taken per batch, so a dropped connection costs one retried batch, not the store). The server fills the
/// search column itself. Called from the writer's loop only.
/// </summary>
internal sealed class PostgresEntryTarget(PostgresDatabase database, BatchInsert insert) : IBatchTarget<PendingEntry>
{
    /// <summary>9 parameters per row: 1,000 rows stay far below PostgreSQL's 65,535 parameters per statement.</summary>
    internal const int RowsPerInsert = 1000;

    private const string Columns = "(session_id, timestamp, mode, channel, direction, content, metadata, run_id, event)";

    public async ValueTask WriteBatchAsync(IReadOnlyList<PendingEntry> batch, CancellationToken cancellationToken)
    {
        var connection = await database.OpenAsync($"write a batch of {batch.Count} entries to", cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (transaction.ConfigureAwait(false))
                {
                    if (insert == BatchInsert.Copy)
                    {
                        await CopyAsync(connection, batch, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        await InsertAsync(connection, transaction, batch, cancellationToken).ConfigureAwait(false);
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (NpgsqlException ex)
            {
                throw database.Error(ex, $"write a batch of {batch.Count} entries to");
            }
        }
    }

    public bool IsTransient(Exception exception) => exception is StoreUnavailableException;

    private async Task CopyAsync(NpgsqlConnection connection, IReadOnlyList<PendingEntry> batch, CancellationToken cancellationToken)
    {
        var importer = await connection.BeginBinaryImportAsync($"COPY {database.Table("entries")} {Columns} FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        await using (importer.ConfigureAwait(false))
        {
            foreach (var e in batch)
            {
                await importer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.SessionId, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.Timestamp, NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.Mode, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.Channel, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.Direction, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await importer.WriteAsync(e.Content, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await WriteNullableAsync(importer, e.Metadata, cancellationToken).ConfigureAwait(false);
                await WriteNullableAsync(importer, e.RunId, cancellationToken).ConfigureAwait(false);
                await WriteNullableAsync(importer, e.Event, cancellationToken).ConfigureAwait(false);
            }

            await importer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellationToken)
        => value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);

    private async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PendingEntry> batch, CancellationToken cancellationToken)
    {
        for (var start = 0; start < batch.Count; start += RowsPerInsert)
        {
            var count = Math.Min(RowsPerInsert, batch.Count - start);
            var sql = new StringBuilder($"INSERT INTO {database.Table("entries")} {Columns} VALUES ");
            var command = new NpgsqlCommand { Connection = connection, Transaction = transaction };
            await using (command.ConfigureAwait(false))
            {
                for (var i = 0; i < count; i++)
                {
                    var e = batch[start + i];
                    var p = i * 9;
                    sql.Append(i == 0 ? "(" : ", (");
                    for (var c = 1; c <= 9; c++)
                    {
                        sql.Append('$').Append(p + c).Append(c < 9 ? ", " : ")");
                    }

                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.SessionId, NpgsqlDbType = NpgsqlDbType.Text });
                    command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = e.Timestamp, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Mode, NpgsqlDbType = NpgsqlDbType.Text });
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Channel, NpgsqlDbType = NpgsqlDbType.Text });
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Direction, NpgsqlDbType = NpgsqlDbType.Text });
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = e.Content, NpgsqlDbType = NpgsqlDbType.Text });
                    command.Parameters.Add(new NpgsqlParameter { Value = (object?)e.Metadata ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                    command.Parameters.Add(new NpgsqlParameter { Value = (object?)e.RunId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                    command.Parameters.Add(new NpgsqlParameter { Value = (object?)e.Event ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                }

                command.CommandText = sql.ToString();
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

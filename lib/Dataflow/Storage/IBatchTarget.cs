namespace Dataflow.Storage;

/// <summary>
/// Where a <see cref="BatchWriter{T}"/> writes: a backend (SQLite, PostgreSQL…) that writes one batch in one
/// transaction. The writer calls it from its single loop only, one batch at a time, so a target needs no locking of
/// its own for the write path.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
public interface IBatchTarget<T>
{
    /// <summary>Writes every item of <paramref name="batch"/> in one transaction: all of them, or none when it throws.</summary>
    /// <param name="batch">The items, in the order they were queued; never empty. Valid only during the call.</param>
    /// <param name="cancellationToken">Cancelled only when the writer abandons the write.</param>
    /// <returns>A task that completes when the batch is committed.</returns>
    ValueTask WriteBatchAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken);

    /// <summary>
    /// Whether a failure of <see cref="WriteBatchAsync"/> will pass by itself (the database is locked by another
    /// process, say): the writer then retries that batch with backoff until it succeeds. Any other failure is retried
    /// up to <see cref="BatchWriterOptions.MaxAttempts"/> times, then the writer stops.
    /// </summary>
    /// <param name="exception">What <see cref="WriteBatchAsync"/> threw.</param>
    /// <returns>True for a transient failure.</returns>
    bool IsTransient(Exception exception);
}

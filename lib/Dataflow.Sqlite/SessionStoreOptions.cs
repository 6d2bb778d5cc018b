using Dataflow.Storage;

namespace Dataflow.Sqlite;

/// <summary>How a <see cref="SessionStore"/> writes; validated and copied when the store is created.</summary>
public sealed class SessionStoreOptions
{
    /// <summary>The most entries written in one transaction.</summary>
    /// <value>The default value is 512.</value>
    public int BatchSize { get; set; } = 512;

    /// <summary>
    /// The longest a queued entry waits for its batch to fill before a partial batch is written.
    /// <see cref="TimeSpan.Zero"/> writes whatever is queued at once (group commit).
    /// </summary>
    /// <value>The default value is 50 ms.</value>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How many entries may wait to be written; a producer that finds the queue full waits (never drops).</summary>
    /// <value>The default value is 8192.</value>
    public int QueueCapacity { get; set; } = 8192;

    /// <summary>How long a statement waits for another writer (another store, another process) to release the file.</summary>
    /// <value>The default value is 5 seconds.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The working directory recorded with the session.</summary>
    /// <value>The default value is null: <see cref="Environment.CurrentDirectory"/> when the store is created.</value>
    public string? WorkingDirectory { get; set; }

    /// <summary>Fields recorded with the session, stored as JSON.</summary>
    /// <value>The default value is null: none.</value>
    public IReadOnlyDictionary<string, object?>? SessionMetadata { get; set; }

    /// <summary>
    /// Whether each batch's commit is synced to disk (<c>PRAGMA synchronous = FULL</c>), so that a flushed batch also
    /// survives a power loss or an operating-system crash. When false (<c>NORMAL</c>), a flushed batch survives a killed
    /// process but the last batches may be lost on power loss; the database stays intact either way.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool DurableCommits { get; set; } = true;

    /// <summary>
    /// Called on the writer's loop when writing a batch failed and will be retried (the database was busy past
    /// <see cref="BusyTimeout"/>, say), or when the store gave up. Must not throw; it is not awaited.
    /// </summary>
    /// <value>The default value is null: failures are only counted in <see cref="SessionStore.WriteFailures"/>.</value>
    public Action<StoreException>? OnWriteError { get; set; }

    /// <summary>The clock for entry timestamps and the flush interval.</summary>
    /// <value>The default value is null: <see cref="TimeProvider.System"/>.</value>
    public TimeProvider? TimeProvider { get; set; }

    internal SessionStoreOptions Validated()
    {
        // The writer's own settings are checked by the writer's options, so both say the same thing.
        var errors = new List<string>(new BatchWriterOptions { BatchSize = BatchSize, FlushInterval = FlushInterval, QueueCapacity = QueueCapacity }.Problems());
        if (BusyTimeout < TimeSpan.Zero || BusyTimeout.TotalMilliseconds > int.MaxValue)
        {
            errors.Add($"BusyTimeout must be between zero and {int.MaxValue} ms (was {BusyTimeout}).");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid SessionStoreOptions: " + string.Join(" ", errors), "options");
        }

        return new SessionStoreOptions
        {
            BatchSize = BatchSize,
            FlushInterval = FlushInterval,
            QueueCapacity = QueueCapacity,
            BusyTimeout = BusyTimeout,
            WorkingDirectory = WorkingDirectory ?? Environment.CurrentDirectory,
            SessionMetadata = SessionMetadata is null ? null : new Dictionary<string, object?>(SessionMetadata, StringComparer.Ordinal),
            DurableCommits = DurableCommits,
            OnWriteError = OnWriteError,
            TimeProvider = TimeProvider ?? TimeProvider.System,
        };
    }
}

using System.Text.RegularExpressions;
using Dataflow.Storage;

namespace Dataflow.Npgsql;

/// <summary>How a <see cref="PostgresSessionStore"/> writes and where its tables live; validated and copied when the store is opened.</summary>
public sealed partial class PostgresStoreOptions
{
    /// <summary>The most entries written in one transaction (one binary <c>COPY</c>).</summary>
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

    /// <summary>
    /// The PostgreSQL schema that holds the store's tables, created on first use. A schema of this name that already
    /// holds tables which are not a Dataflow store's is refused, so the store can live beside an application's own tables
    /// in one database without touching them. A lower-case identifier: letters, digits and underscores, at most 63.
    /// </summary>
    /// <value>The default value is <c>dataflow</c>.</value>
    public string Schema { get; set; } = "dataflow";

    /// <summary>The working directory recorded with the session.</summary>
    /// <value>The default value is null: <see cref="Environment.CurrentDirectory"/> when the store is opened.</value>
    public string? WorkingDirectory { get; set; }

    /// <summary>Fields recorded with the session, stored as JSON.</summary>
    /// <value>The default value is null: none.</value>
    public IReadOnlyDictionary<string, object?>? SessionMetadata { get; set; }

    /// <summary>
    /// Called on the writer's loop when writing a batch failed and will be retried (the server was unreachable, say), or
    /// when the store gave up. Must not throw; it is not awaited.
    /// </summary>
    /// <value>The default value is null: failures are only counted in <see cref="PostgresSessionStore.WriteFailures"/>.</value>
    public Action<StoreException>? OnWriteError { get; set; }

    /// <summary>The clock for entry timestamps and the flush interval.</summary>
    /// <value>The default value is null: <see cref="TimeProvider.System"/>.</value>
    public TimeProvider? TimeProvider { get; set; }

    internal PostgresStoreOptions Validated()
    {
        // The writer's own settings are checked by the writer's options, so both say the same thing.
        var errors = new List<string>(new BatchWriterOptions { BatchSize = BatchSize, FlushInterval = FlushInterval, QueueCapacity = QueueCapacity }.Problems());
        if (Schema is null || !SchemaName().IsMatch(Schema))
        {
            errors.Add($"Schema must be a lower-case identifier of letters, digits and underscores, starting with a letter or underscore, at most 63 characters (was '{Schema}').");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid PostgresStoreOptions: " + string.Join(" ", errors), "options");
        }

        return new PostgresStoreOptions
        {
            BatchSize = BatchSize,
            FlushInterval = FlushInterval,
            QueueCapacity = QueueCapacity,
            Schema = Schema!,
            WorkingDirectory = WorkingDirectory ?? Environment.CurrentDirectory,
            SessionMetadata = SessionMetadata is null ? null : new Dictionary<string, object?>(SessionMetadata, StringComparer.Ordinal),
            OnWriteError = OnWriteError,
            TimeProvider = TimeProvider ?? TimeProvider.System,
        };
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemaName();
}

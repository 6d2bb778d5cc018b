namespace Dataflow.Storage;

/// <summary>How a <see cref="BatchWriter{T}"/> batches and retries; validated and copied when the writer is created.</summary>
public sealed class BatchWriterOptions
{
    /// <summary>The most items written in one batch (one transaction).</summary>
    /// <value>The default value is 512.</value>
    public int BatchSize { get; set; } = 512;

    /// <summary>The longest a queued item waits for its batch to fill before a partial batch is written.
    /// <see cref="TimeSpan.Zero"/> writes whatever is queued at once (group commit).</summary>
    /// <value>The default value is 50 ms.</value>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How many items may wait to be written; a producer that finds the queue full waits (never drops).</summary>
    /// <value>The default value is 8192.</value>
    public int QueueCapacity { get; set; } = 8192;

    /// <summary>How many times a batch is tried when its failure is not transient before the writer stops.</summary>
    /// <value>The default value is 5.</value>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Called on the writer's loop after each failed attempt (to be retried, or given up). Must not throw; a
    /// listener that throws is ignored, the failure is counted either way.</summary>
    /// <value>The default value is null: failures are only counted in <see cref="BatchWriterHealth.Failures"/>.</value>
    public Action<BatchWriteFailure>? OnFailure { get; set; }

    /// <summary>
    /// Makes the exception that pending and later calls fail with once the writer has stopped, from the error that
    /// stopped it: a store throws its own type, naming what it writes to. Called once when the writer stops and once
    /// per later call. Must not throw.
    /// </summary>
    /// <value>The default value is null: <see cref="BatchWriterStoppedException"/>, with that error inside.</value>
    public Func<Exception, Exception>? StoppedError { get; set; }

    /// <summary>The clock for the flush interval, the backoff and <see cref="BatchWriterHealth.StalledSince"/>.</summary>
    /// <value>The default value is null: <see cref="TimeProvider.System"/>.</value>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>
    /// Every problem with these options, each naming its property; empty when they are valid. A backend whose own
    /// options carry the writer's settings reports these beside its own, all at once.
    /// </summary>
    /// <returns>The problems, in property order.</returns>
    public IReadOnlyList<string> Problems()
    {
        var errors = new List<string>();
        if (BatchSize < 1)
        {
            errors.Add($"BatchSize must be at least 1 (was {BatchSize}).");
        }

        if (FlushInterval < TimeSpan.Zero || FlushInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"FlushInterval must be between zero and one hour (was {FlushInterval}).");
        }

        if (QueueCapacity < 1)
        {
            errors.Add($"QueueCapacity must be at least 1 (was {QueueCapacity}).");
        }

        if (MaxAttempts < 1)
        {
            errors.Add($"MaxAttempts must be at least 1 (was {MaxAttempts}).");
        }

        return errors;
    }

    /// <summary>Checks every option, reporting all problems at once, and returns a frozen copy.</summary>
    internal BatchWriterOptions Validated()
    {
        var errors = Problems();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid BatchWriterOptions: " + string.Join(" ", errors), "options");
        }

        return new BatchWriterOptions
        {
            BatchSize = BatchSize,
            FlushInterval = FlushInterval,
            QueueCapacity = QueueCapacity,
            MaxAttempts = MaxAttempts,
            OnFailure = OnFailure,
            StoppedError = StoppedError,
            TimeProvider = TimeProvider ?? TimeProvider.System,
        };
    }
}

/// <summary>One failed attempt to write a batch, as reported to <see cref="BatchWriterOptions.OnFailure"/>.</summary>
/// <param name="Error">What the target threw.</param>
/// <param name="BatchCount">How many items the batch held.</param>
/// <param name="Attempt">Which attempt failed, from 1.</param>
/// <param name="Transient">Whether the target called the failure transient (retried until it succeeds).</param>
/// <param name="RetryIn">When the batch is tried again; null when the writer gave up and stopped.</param>
/// <param name="Lost">Items that will never be written because the writer stopped; 0 while it retries.</param>
public sealed record BatchWriteFailure(Exception Error, int BatchCount, int Attempt, bool Transient, TimeSpan? RetryIn, long Lost);

/// <summary>A snapshot of a <see cref="BatchWriter{T}"/>'s health, for progress lines and dashboards.</summary>
/// <param name="Queued">Items accepted and not yet written (approximate while the writer runs).</param>
/// <param name="Written">Items committed.</param>
/// <param name="Failures">Failed attempts to write a batch, retried or given up.</param>
/// <param name="Unwritten">Items that will never be written because the writer stopped; 0 while healthy.</param>
/// <param name="StalledSince">When the batch being written first failed, while it is being retried; null when writes go through.</param>
/// <param name="LastError">The latest failure while stalled or stopped; null when writes go through.</param>
/// <param name="Stopped">Whether the writer gave up after an error (every later call throws <see cref="BatchWriterStoppedException"/>).</param>
public readonly record struct BatchWriterHealth(long Queued, long Written, long Failures, long Unwritten, DateTimeOffset? StalledSince, Exception? LastError, bool Stopped);

/// <summary>The <see cref="BatchWriter{T}"/> gave up after an error that was not transient; nothing more is written.
/// <see cref="Exception.InnerException"/> holds the cause.</summary>
public sealed class BatchWriterStoppedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public BatchWriterStoppedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public BatchWriterStoppedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The error the writer stopped on.</param>
    public BatchWriterStoppedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

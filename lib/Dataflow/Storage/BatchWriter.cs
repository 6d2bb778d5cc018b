namespace Dataflow.Storage;

/// <summary>
/// Writes items to an <see cref="IBatchTarget{T}"/> in batches from one owned loop over a bounded queue. Backends
/// (SQLite, PostgreSQL) share it and only say how one batch is written in one transaction. Thread-safe.
/// </summary>
/// <remarks>
/// <para>The loop: it waits for a first item, then gathers more until the batch holds
/// <see cref="BatchWriterOptions.BatchSize"/> items, <see cref="BatchWriterOptions.FlushInterval"/> has passed, or a
/// flush marker arrives, whichever comes first; it writes the batch, then completes the markers it took. Markers and
/// items share one FIFO queue, so a flush completes once everything queued before it is committed.</para>
/// <para>Failures: a transient failure (<see cref="IBatchTarget{T}.IsTransient"/>) is retried with backoff (25 ms
/// doubling to 1 s) until it succeeds, and the writer reports itself stalled meanwhile
/// (<see cref="BatchWriterHealth.StalledSince"/>). Any other failure is retried up to
/// <see cref="BatchWriterOptions.MaxAttempts"/> times; then the writer stops, counts what it could not write, fails
/// pending flushes and every later call with <see cref="BatchWriterStoppedException"/> (or what
/// <see cref="BatchWriterOptions.StoppedError"/> makes). Each failed attempt is counted and reported to
/// <see cref="BatchWriterOptions.OnFailure"/> on the loop; nothing is thrown on a producer's thread but the producer's
/// own call.</para>
/// <para>The loop is started with the execution context suppressed (it must not capture a caller's
/// <see cref="AsyncLocal{T}"/> state) and is awaited by <see cref="DisposeAsync"/>, which drains the queue first.</para>
/// </remarks>
/// <typeparam name="T">The item type.</typeparam>
public sealed partial class BatchWriter<T> : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly IBatchTarget<T> _target;
    private readonly BatchWriterOptions _options;
    private readonly TimeProvider _time;
    private readonly WorkQueue _queue;
    private readonly Task _loop;
    private long _written;
    private long _failures;
    private long _unwritten;
    private int _inFlight;
    private int _disposed;
    private int _queued;
    private int _markersQueued;
    private TaskCompletionSource? _wake;
    private int _wakeAt;
    private int _lastCommits;
    private volatile Stall? _stall;
    private volatile BatchWriterStoppedException? _stopped;

    /// <summary>Creates the writer and starts its loop.</summary>
    /// <param name="target">Where batches go.</param>
    /// <param name="options">Batching and retry options; validated and copied.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public BatchWriter(IBatchTarget<T> target, BatchWriterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        _target = target;
        _options = (options ?? new BatchWriterOptions()).Validated();
        _time = _options.TimeProvider!;
        _queue = new WorkQueue(_options.QueueCapacity);
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(LoopAsync);
        }
    }

    /// <summary>Items committed so far.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Failed attempts to write a batch so far (each retried or, past the last attempt, given up).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Items accepted but never written because the writer stopped; 0 while healthy.</summary>
    public long Unwritten => Interlocked.Read(ref _unwritten);

    /// <summary>A snapshot of the writer's health: queued, written, failed, and whether writes are stalled.</summary>
    public BatchWriterHealth Health
    {
        get
        {
            var stall = _stall;
            var stopped = _stopped;
            return new BatchWriterHealth(
                Math.Max(0, _queue.Count + Volatile.Read(ref _inFlight)),
                Written,
                Failures,
                Unwritten,
                stall?.Since,
                stopped?.InnerException ?? stall?.LastError,
                stopped is not null);
        }
    }

    /// <summary>Queues one item if the queue has room; never waits.</summary>
    /// <param name="item">The item.</param>
    /// <returns>True if queued; false if the queue was full.</returns>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    /// <exception cref="BatchWriterStoppedException">The writer stopped after an error.</exception>
    public bool TryEnqueue(T item)
    {
        if (_queue.TryWrite(new Work(item, null, HasItem: true)))
        {
            Queued(marker: false);
            return true;
        }

        ThrowIfClosed();
        return false;
    }

    /// <summary>Queues one item; waits while the queue is full. Never drops.</summary>
    /// <param name="item">The item.</param>
    /// <param name="cancellationToken">Stops waiting for room; the item is then not queued.</param>
    /// <returns>A task that completes when the item is queued.</returns>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    /// <exception cref="BatchWriterStoppedException">The writer stopped after an error.</exception>
    public ValueTask EnqueueAsync(T item, CancellationToken cancellationToken = default)
    {
        var work = new Work(item, null, HasItem: true);
        if (_queue.TryWrite(work))
        {
            Queued(marker: false);
            return default;
        }

        return WaitAndEnqueueAsync(work, cancellationToken);
    }

    /// <summary>
    /// Queues one item and completes once it is committed (group commit: items queued while a batch is written share
    /// the next batch's transaction, so each waits about one commit and the commits are shared). Waits while the queue
    /// is full.
    /// </summary>
    /// <param name="item">The item.</param>
    /// <param name="cancellationToken">Stops waiting (for room: the item is not queued; for the commit: it may still be written).</param>
    /// <returns>A task that completes when the item is committed.</returns>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    /// <exception cref="BatchWriterStoppedException">The writer stopped after an error, before or while writing the item.</exception>
    public Task WriteAsync(T item, CancellationToken cancellationToken = default)
    {
        // Completed by the loop off its own thread, in slices (CompleteCommits): continuations run there, in turn.
        var committed = new TaskCompletionSource();
        var work = new Work(item, committed, HasItem: true);
        if (!_queue.TryWrite(work))
        {
            return WaitAndWriteAsync(work, committed, cancellationToken);
        }

        Queued(marker: false);
        return cancellationToken.CanBeCanceled ? committed.Task.WaitAsync(cancellationToken) : committed.Task;
    }

    /// <summary>Waits until every item queued before this call is committed.</summary>
    /// <param name="cancellationToken">Stops waiting (the items are still written).</param>
    /// <returns>A task that completes when they are committed.</returns>
    /// <exception cref="ObjectDisposedException">The writer is disposed.</exception>
    /// <exception cref="BatchWriterStoppedException">The writer stopped after an error.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await WaitAndEnqueueAsync(new Work(default!, done, HasItem: false), cancellationToken).ConfigureAwait(false);
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes everything queued, then stops the loop. Safe to call twice. While a transient failure lasts
    /// (another process holds the database), it waits for the retries to succeed.</summary>
    /// <returns>A task that completes when the loop has ended.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _queue.Close();
            Volatile.Read(ref _wake)?.TrySetResult();
        }

        await _loop.ConfigureAwait(false);
    }

    private async Task WaitAndWriteAsync(Work work, TaskCompletionSource committed, CancellationToken cancellationToken)
    {
        await WaitAndEnqueueAsync(work, cancellationToken).ConfigureAwait(false);
        await committed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WaitAndEnqueueAsync(Work work, CancellationToken cancellationToken)
    {
        while (!_queue.TryWrite(work))
        {
            if (!await _queue.WaitForRoomAsync(cancellationToken).ConfigureAwait(false))
            {
                ThrowIfClosed();
            }
        }

        Queued(marker: !work.HasItem);
    }

    private void ThrowIfClosed()
    {
        if (_stopped is { } stopped)
        {
            throw _options.StoppedError?.Invoke(stopped.InnerException!) ?? new BatchWriterStoppedException(stopped.Message, stopped.InnerException);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0 || _queue.IsClosed, this);
    }

    private async Task LoopAsync()
    {
        var batch = new List<T>(_options.BatchSize);
        var flushes = new List<TaskCompletionSource>();
        var commits = new List<TaskCompletionSource>();
        try
        {
            while (await WaitForWorkAsync().ConfigureAwait(false))
            {
                await GatherAsync(batch, flushes, commits).ConfigureAwait(false);
                if (batch.Count > 0)
                {
                    Volatile.Write(ref _inFlight, batch.Count);
                    await WriteWithRetriesAsync(batch).ConfigureAwait(false);
                    batch.Clear();
                    Volatile.Write(ref _inFlight, 0);
                }

                _lastCommits = commits.Count;
                CompleteCommits(commits);
                commits.Clear();
                foreach (var flush in flushes)
                {
                    flush.TrySetResult();
                }

                flushes.Clear();
            }
        }
        catch (Exception ex)
        {
            flushes.AddRange(commits);
            Stop(ex, batch, flushes);
        }
    }

    private async Task WriteWithRetriesAsync(List<T> batch)
    {
        var attempt = 0;
        while (true)
        {
            try
            {
                await _target.WriteBatchAsync(batch, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Add(ref _written, batch.Count);
                _stall = null;
                return;
            }
            catch (Exception ex)
            {
                attempt++;
                Interlocked.Increment(ref _failures);
                var transient = _target.IsTransient(ex);
                _stall = new Stall(_stall?.Since ?? _time.GetUtcNow(), ex);
                if (!transient && attempt >= _options.MaxAttempts)
                {
                    throw new BatchWriteGaveUpException(ex, attempt, transient);
                }

                var backoff = TimeSpan.FromMilliseconds(25 * (1 << Math.Min(attempt, 6)));
                backoff = backoff > MaxBackoff ? MaxBackoff : backoff;
                Report(new BatchWriteFailure(ex, batch.Count, attempt, transient, backoff, 0));
                await Task.Delay(backoff, _time).ConfigureAwait(false);
            }
        }
    }

    private void Stop(Exception ex, List<T> batch, List<TaskCompletionSource> flushes)
    {
        var cause = ex is BatchWriteGaveUpException gaveUp ? gaveUp.InnerException! : ex;
        var stopped = new BatchWriterStoppedException($"The batch writer stopped after an error: {cause.Message}", cause);
        var error = _options.StoppedError?.Invoke(cause) ?? stopped;
        _stopped = stopped;
        _queue.Close();
        long lost = batch.Count;
        foreach (var flush in flushes)
        {
            flush.TrySetException(error);
        }

        while (_queue.TryReadAccepted(out var work))
        {
            work.Flush?.TrySetException(error);
            if (work.HasItem)
            {
                lost++;
            }
        }

        Volatile.Write(ref _inFlight, 0);
        Interlocked.Add(ref _unwritten, lost);
        var attempt = (ex as BatchWriteGaveUpException)?.Attempt ?? 1;
        var transient = (ex as BatchWriteGaveUpException)?.Transient ?? false;
        Report(new BatchWriteFailure(cause, batch.Count, attempt, transient, null, lost));
    }

    private void Report(BatchWriteFailure failure)
    {
        if (_options.OnFailure is not { } listener)
        {
            return;
        }

        try
        {
            listener(failure);
        }
        catch (Exception)
        {
            // A listener that throws must not stop the writer; the failure is already counted.
        }
    }

    /// <summary>An item (with a signal for its commit, when its producer waits for it), or a flush marker (no item).</summary>
    private readonly record struct Work(T Item, TaskCompletionSource? Flush, bool HasItem);

    private sealed record Stall(DateTimeOffset Since, Exception LastError);

    /// <summary>Carries the last attempt's failure out of the retry loop to <see cref="Stop"/>.</summary>
    private sealed class BatchWriteGaveUpException(Exception cause, int attempt, bool transient) : Exception(cause.Message, cause)
    {
        public int Attempt { get; } = attempt;

        public bool Transient { get; } = transient;
    }
}

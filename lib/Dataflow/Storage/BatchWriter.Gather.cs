namespace Dataflow.Storage;

// How the loop gathers a batch, and how producers wake it and learn of their commits.
public sealed partial class BatchWriter<T>
{
    /// <summary>
    /// Counts what a producer just queued, and wakes a gathering loop when the batch can now be filled (or the queue is
    /// full: producers wait) or a flush marker arrived. Both sides publish before they look (<see cref="Interlocked"/>),
    /// so either the loop sees the count or the producer sees the loop's signal: the loop never sleeps through a full
    /// batch or a flush.
    /// </summary>
    private void Queued(bool marker)
    {
        var queued = Interlocked.Increment(ref _queued);
        if (marker)
        {
            Interlocked.Increment(ref _markersQueued);
        }

        if (Volatile.Read(ref _wake) is { } wake && (marker || queued >= Volatile.Read(ref _wakeAt)))
        {
            wake.TrySetResult();
        }
    }

    /// <summary>
    /// Tells the producers waiting for a commit (<see cref="WriteAsync"/>) that it is done. Their continuations run
    /// synchronously, so a thousand waiters would be a thousand thread-pool hops if each had its own; instead one work
    /// item per processor completes a slice of them, and the loop goes on gathering the next batch meanwhile.
    /// </summary>
    private static void CompleteCommits(List<TaskCompletionSource> commits)
    {
        if (commits.Count == 0)
        {
            return;
        }

        var slices = Math.Clamp(commits.Count / 32, 1, Environment.ProcessorCount);
        var size = (commits.Count + slices - 1) / slices;
        for (var start = 0; start < commits.Count; start += size)
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static slice =>
                {
                    foreach (var commit in slice)
                    {
                        commit.TrySetResult();
                    }
                },
                commits.GetRange(start, Math.Min(size, commits.Count - start)),
                preferLocal: false);
        }
    }

    /// <summary>
    /// Fills <paramref name="batch"/> until it is full, a flush marker arrives or the interval runs out. It sleeps
    /// through the interval on one timer and is woken early (<see cref="Queued"/>) only when the queue holds the rest
    /// of a batch, is full, holds a flush marker, or, under group commit, holds as many items as the last batch
    /// released waiters; not by every item: with group commit hundreds of producers enqueue within one interval.
    /// </summary>
    private async Task GatherAsync(List<T> batch, List<TaskCompletionSource> flushes, List<TaskCompletionSource> commits)
    {
        var started = _time.GetTimestamp();
        Drain(batch, flushes, commits);
        var remaining = _options.FlushInterval - _time.GetElapsedTime(started);
        if (flushes.Count > 0 || batch.Count >= _options.BatchSize || remaining <= TimeSpan.Zero || (_lastCommits > 0 && batch.Count >= _lastCommits))
        {
            return;
        }

        // Wake when the queue holds the rest of a batch, or is full (its producers wait), whichever is fewer items; and
        // with group commit, once as many items wait as the last batch released waiters: those producers are back, and
        // waiting out the interval would only hold them longer.
        var wakeAt = Math.Min(_options.BatchSize - batch.Count, _options.QueueCapacity);
        if (_lastCommits > 0)
        {
            wakeAt = Math.Min(wakeAt, Math.Max(1, _lastCommits - batch.Count));
        }

        Volatile.Write(ref _wakeAt, wakeAt);
        var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _wake, wake);
        if (Volatile.Read(ref _queued) < wakeAt && Volatile.Read(ref _markersQueued) == 0 && Volatile.Read(ref _disposed) == 0)
        {
            using var timer = new CancellationTokenSource();
            var delay = Task.Delay(remaining, _time, timer.Token);
            if (await Task.WhenAny(wake.Task, delay).ConfigureAwait(false) != delay)
            {
                await timer.CancelAsync().ConfigureAwait(false);
            }
        }

        Volatile.Write(ref _wake, null);
        Drain(batch, flushes, commits);
    }

    /// <summary>
    /// Waits until the queue holds something; false once it is closed and empty. The loop sleeps on the same signal
    /// as <see cref="GatherAsync"/>, woken by the first item queued (<see cref="Queued"/>) or by closing.
    /// </summary>
    private async ValueTask<bool> WaitForWorkAsync()
    {
        while (true)
        {
            if (_queue.Count > 0)
            {
                return true;
            }

            if (_queue.IsClosed)
            {
                return false;
            }

            Volatile.Write(ref _wakeAt, 1);
            var wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Interlocked.Exchange(ref _wake, wake);
            if (_queue.Count == 0 && !_queue.IsClosed)
            {
                await wake.Task.ConfigureAwait(false);
            }

            Volatile.Write(ref _wake, null);
        }
    }

    /// <summary>Takes what the queue holds, up to a full batch or the first flush marker.</summary>
    private void Drain(List<T> batch, List<TaskCompletionSource> flushes, List<TaskCompletionSource> commits)
    {
        while (batch.Count < _options.BatchSize && flushes.Count == 0 && _queue.TryRead(out var work))
        {
            Interlocked.Decrement(ref _queued);
            if (!work.HasItem)
            {
                Interlocked.Decrement(ref _markersQueued);
                flushes.Add(work.Flush!);
            }
            else
            {
                batch.Add(work.Item);
                if (work.Flush is { } commit)
                {
                    commits.Add(commit);
                }
            }
        }
    }
}

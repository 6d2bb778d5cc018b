namespace Dataflow.Engine;

/// <summary>
/// Slots taken and given back by compare-and-swap on one counter, with a lock only while someone waits: a network's
/// admission slots (<see cref="Graphs.GraphOptions.MaxRunsInFlight"/>), and a fan-out's window of children in flight.
/// Thread-safe.
/// </summary>
/// <remarks>
/// <para>Unlike <see cref="SemaphoreSlim"/>, which locks on every release and, while anyone waits, hands each freed slot
/// to the first waiter (so under a full bound every later submit waits too, one thread-pool hop per run), a freed slot
/// goes back to the counter and a waiter is woken to try again. A submit loop woken once then finds the slots freed
/// meanwhile and takes them without waiting.</para>
/// <para>No waiter sleeps through a free slot: a waiter counts itself (<c>_waiting</c>) and then looks at the counter
/// again; <see cref="Leave"/> frees a slot and then looks at <c>_waiting</c>. Both steps are interlocked, so one of them
/// sees the other. A woken waiter that finds the slot taken by someone faster goes back to the head of the line, so
/// waiters are served in the order they came. A waiter's token cancels its place in the line; a waiter woken before its
/// token fired goes on as woken, so a wake is never lost to a cancellation.</para>
/// </remarks>
internal sealed class AdmissionGate(int slots)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource> _waiters = new();
    private int _free = slots;
    private int _waiting;

    /// <summary>Slots free now.</summary>
    public int Free => Volatile.Read(ref _free);

    /// <summary>Takes a slot if one is free; never waits.</summary>
    public bool TryEnter() => Slots.TryTake(ref _free);

    /// <summary>Takes a slot, waiting until one is free.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first (even with a slot free); no slot is held.</exception>
    public ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        return TryEnter() ? default : WaitAsync(cancellationToken);
    }

    /// <summary>Gives a slot back, and wakes the first waiter if there is one.</summary>
    public void Leave()
    {
        Interlocked.Increment(ref _free);
        if (Volatile.Read(ref _waiting) > 0)
        {
            WakeOne();
        }
    }

    private async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        var first = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                if (first)
                {
                    _waiters.AddFirst(waiter);
                }
                else
                {
                    _waiters.AddLast(waiter);
                }

                Interlocked.Increment(ref _waiting);
            }

            if (TryEnter())
            {
                // Taken after all: leave the line, and pass on a wake that may have been meant for it.
                if (!waiter.TrySetCanceled(CancellationToken.None))
                {
                    WakeOne();
                }

                return;
            }

            // The token cancels the waiter itself (a registration on the token's source reuses its freed nodes), not a
            // second task waiting on it: a wait makes only its waiter. A waiter cancelled by its token was not woken, so
            // it has no wake to pass on; one woken first ignores the token and goes on.
            using (cancellationToken.UnsafeRegister(static (w, token) => ((TaskCompletionSource)w!).TrySetCanceled(token), waiter))
            {
                await waiter.Task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (waiter.Task.IsCanceled)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (TryEnter())
            {
                return;
            }

            first = true;
        }
    }

    /// <summary>Wakes the first waiter still waiting; those that left the line (cancelled, or entered) are dropped.</summary>
    private void WakeOne()
    {
        while (true)
        {
            TaskCompletionSource waiter;
            lock (_lock)
            {
                if (_waiters.First is not { } node)
                {
                    return;
                }

                waiter = node.Value;
                _waiters.RemoveFirst();
                Interlocked.Decrement(ref _waiting);
            }

            if (waiter.TrySetResult())
            {
                return;
            }
        }
    }
}

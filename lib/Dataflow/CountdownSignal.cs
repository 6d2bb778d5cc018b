namespace Dataflow;

/// <summary>
/// Counts work in progress and signals once, when the count is back to zero after <see cref="Close"/>: the one
/// "count to zero, then signal" of the library (runs in a network, background tasks, events waiting for a sink).
/// </summary>
/// <remarks>
/// The count starts at one, held by the signal itself while it is open, so it cannot reach zero before
/// <see cref="Close"/> however often work comes and goes. <see cref="Close"/> gives that one back.
/// </remarks>
internal sealed class CountdownSignal
{
    private readonly TaskCompletionSource _zero = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _count = 1;
    private int _closed;

    /// <summary>Work in progress now (the signal's own hold not counted).</summary>
    public int Count => Volatile.Read(ref _count) - (Volatile.Read(ref _closed) == 0 ? 1 : 0);

    /// <summary>Completes once the signal is closed and every piece of work has ended; then stays completed.</summary>
    public Task Zero => _zero.Task;

    /// <summary>Counts one more piece of work.</summary>
    public void Add() => Interlocked.Increment(ref _count);

    /// <summary>One piece of work ended.</summary>
    public void Signal()
    {
        if (Interlocked.Decrement(ref _count) == 0)
        {
            _zero.TrySetResult();
        }
    }

    /// <summary>No more work is expected to begin: <see cref="Zero"/> completes when the last piece ends. Idempotent.</summary>
    /// <returns><see cref="Zero"/>.</returns>
    public Task Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            Signal();
        }

        return _zero.Task;
    }
}

using System.Collections.Concurrent;

namespace Dataflow.Storage;

// The writer's queue: bounded, many producers, one reader (the loop), FIFO, without a lock on either side.
public sealed partial class BatchWriter<T>
{
    /// <summary>
    /// A bounded FIFO of <see cref="Work"/> for many producers and one reader. A producer first reserves a slot by
    /// compare-and-swap on one counter (which also carries the closed bit), then enqueues into a
    /// <see cref="ConcurrentQueue{T}"/>; the reader releases a slot for each item it takes. With group commit a thousand
    /// runs enqueue within a millisecond, and a locked queue (a bounded channel) made them queue for its lock.
    /// </summary>
    /// <remarks>
    /// Closing sets the bit, after which no slot is reserved; every slot reserved before it holds an item within a few
    /// instructions, so a reader that takes items until <see cref="Count"/> is zero has taken everything ever accepted.
    /// A producer waiting for room publishes a signal and then looks at the count again; the reader frees room and then
    /// looks for the signal: one of them sees the other (both steps are interlocked), so no producer sleeps on room.
    /// </remarks>
    private sealed class WorkQueue(int capacity)
    {
        private const long Closed = 1L << 62;
        private readonly ConcurrentQueue<Work> _items = new();
        private long _state;
        private TaskCompletionSource? _room;

        /// <summary>Items accepted and not yet taken (some may be a few instructions from visible).</summary>
        public int Count => (int)(Volatile.Read(ref _state) & ~Closed);

        public bool IsClosed => (Volatile.Read(ref _state) & Closed) != 0;

        /// <summary>Accepts <paramref name="work"/> if the queue is open and has room.</summary>
        public bool TryWrite(Work work)
        {
            var state = Volatile.Read(ref _state);
            while (true)
            {
                if ((state & Closed) != 0 || state >= capacity)
                {
                    return false;
                }

                var seen = Interlocked.CompareExchange(ref _state, state + 1, state);
                if (seen == state)
                {
                    break;
                }

                state = seen;
            }

            _items.Enqueue(work);
            return true;
        }

        /// <summary>Waits until the queue may have room; false once it is closed. The reader's side: <see cref="TryRead"/>.</summary>
        public async ValueTask<bool> WaitForRoomAsync(CancellationToken cancellationToken)
        {
            var room = Volatile.Read(ref _room);
            if (room is null)
            {
                var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                room = Interlocked.CompareExchange(ref _room, fresh, null) ?? fresh;
            }

            var state = Interlocked.Read(ref _state);
            if ((state & Closed) == 0 && state >= capacity)
            {
                await room.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return !IsClosed;
        }

        /// <summary>Takes the oldest visible item. The loop only.</summary>
        public bool TryRead(out Work work)
        {
            if (!_items.TryDequeue(out work))
            {
                return false;
            }

            Interlocked.Decrement(ref _state);
            if (Volatile.Read(ref _room) is not null)
            {
                Interlocked.Exchange(ref _room, null)?.TrySetResult();
            }

            return true;
        }

        /// <summary>
        /// Takes an item that was accepted but may not be visible yet: spins the few instructions until it is. False
        /// only when nothing is accepted. The loop only, when closing.
        /// </summary>
        public bool TryReadAccepted(out Work work)
        {
            var spinner = default(SpinWait);
            while (Count > 0)
            {
                if (TryRead(out work))
                {
                    return true;
                }

                spinner.SpinOnce();
            }

            work = default;
            return false;
        }

        /// <summary>Refuses every later write and wakes producers waiting for room (they then see it closed).</summary>
        public void Close()
        {
            Interlocked.Or(ref _state, Closed);
            Interlocked.Exchange(ref _room, null)?.TrySetResult();
        }
    }
}

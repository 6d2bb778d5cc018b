using System.Collections.Concurrent;

namespace Dataflow.Engine;

/// <summary>
/// How runs reach a step whose node code does not block (every step but a <see cref="Graphs.BlockingNodeAttribute"/>
/// one, which keeps its <see cref="System.Threading.Tasks.Dataflow.ActionBlock{TInput}"/> on threads of its own): a queue
/// and the step's node slots (its parallelism), drained by at most one thread-pool work item per core (and per slot).
/// </summary>
/// <remarks>
/// <para><b>Why not an ActionBlock.</b> A block's action returns a task per run, and the block adds a continuation
/// to each that waits (about 200 bytes a run), and one work item per run that hops from block to block: a run of three
/// steps is three thread hops. Here a drainer that already runs starts the run, and a run that moves on to a step with a
/// free slot and nobody queued before it continues there at once, in the same flow
/// (<see cref="TryEnterInline"/>), holding that step's slot as it would in its block. A burst of submits also stays out
/// of the pool's global queue, which holds at most one drainer per core: a timer's callback queued behind them does not
/// wait until every run ahead has started.</para>
/// <para><b>Slots.</b> A run holds one of the step's slots from when it is taken from the queue (or enters inline)
/// until its visit of the step ends, whatever the outcome: handed on, run on inline, parked, ended. The step's
/// executor gives it back (<see cref="Leave"/>) and, if runs are queued, starts a drainer. A step without a parallelism
/// bound counts no slots, but every step counts its visits in progress, which the network's disposal waits for.</para>
/// <para><b>Drainers.</b> A drainer takes a slot, then a run, and starts it (<see cref="NetworkStep.ExecuteAsync"/> goes
/// as far as its first wait; nothing awaits it here, which is why it never faults), at most <see cref="Quantum"/> runs
/// a turn, then queues itself again behind what arrived meanwhile. Drainers are counted in <c>_draining</c>: a post or a
/// freed slot starts one when fewer than the most run; a drainer that finds no slot or no run stops, then looks once
/// more and takes its place back if both are there, so that no run is left queued with a free slot and nobody
/// draining.</para>
/// </remarks>
internal sealed class StepQueue : IThreadPoolWorkItem
{
    /// <summary>How many runs a drainer starts before it lets the rest of the pool's queue go first.</summary>
    internal const int Quantum = 32;

    private readonly NetworkStep _step;
    private readonly ConcurrentQueue<RunExecution> _runs = new();
    private readonly CountdownSignal _visits = new();
    private readonly bool _bounded;
    private readonly int _maxDrainers;
    private int _free;
    private int _draining;
    private int _completed;

    /// <param name="step">The step whose runs it starts.</param>
    /// <param name="parallelism">The step's node slots; <see cref="Graphs.GraphOptions.Unbounded"/> for no bound.</param>
    public StepQueue(NetworkStep step, int parallelism)
    {
        _step = step;
        _bounded = parallelism != Graphs.GraphOptions.Unbounded;
        _free = _bounded ? parallelism : int.MaxValue;
        _maxDrainers = Math.Min(Environment.ProcessorCount, _bounded ? parallelism : int.MaxValue);
    }

    /// <summary>Queues a run to start. False once the network no longer takes runs (<see cref="Complete"/>).</summary>
    public bool Post(RunExecution run)
    {
        if (Volatile.Read(ref _completed) != 0)
        {
            return false;
        }

        _runs.Enqueue(run);
        StartDrainer();
        return true;
    }

    /// <summary>
    /// Takes a slot for a run arriving from another step, to execute it now in the caller's flow; false when the step
    /// has none free or runs wait in its queue (they go first). The caller gives the slot back with <see cref="Leave"/>.
    /// </summary>
    public bool TryEnterInline()
    {
        if (_bounded && !(_runs.IsEmpty && TryTakeSlot()))
        {
            return false;
        }

        _visits.Add();
        return true;
    }

    /// <summary>A run's visit of the step ended: its slot is free again, for a queued run if any.</summary>
    public void Leave()
    {
        _visits.Signal();
        if (!_bounded)
        {
            return;
        }

        Interlocked.Increment(ref _free);
        if (!_runs.IsEmpty)
        {
            StartDrainer();
        }
    }

    /// <summary>
    /// Takes no more runs; called once every run has left the network. Completes when every visit has ended, so that
    /// what a visit started on its way out (a gate waiter, say) is tracked before the engine drains its background work.
    /// </summary>
    public Task Complete()
    {
        Volatile.Write(ref _completed, 1);
        return _visits.Close();
    }

    /// <summary>Starts up to <see cref="Quantum"/> runs, then stops or queues itself again.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        for (var started = 0; started < Quantum; started++)
        {
            if (!TryTakeSlot())
            {
                if (StopDraining())
                {
                    return;
                }

                continue;
            }

            if (!_runs.TryDequeue(out var run))
            {
                GiveBackSlot();
                if (StopDraining())
                {
                    return;
                }

                continue;
            }

            // Runs until its first wait, and gives its slot back when its visit ends; it never faults (see the remarks).
            _visits.Add();
            _ = _step.ExecuteAsync(run);
        }

        // Still counted as draining: behind whatever was queued meanwhile.
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>Stops this drainer; false when it took its place back because a run and a slot turned up meanwhile.</summary>
    private bool StopDraining()
    {
        Interlocked.Decrement(ref _draining);
        return _runs.IsEmpty || Volatile.Read(ref _free) <= 0 || !TryTakeDrainerPlace();
    }

    private void StartDrainer()
    {
        if (Volatile.Read(ref _free) > 0 && TryTakeDrainerPlace())
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    private bool TryTakeSlot()
    {
        if (!_bounded)
        {
            return true;
        }

        return Slots.TryTake(ref _free);
    }

    private void GiveBackSlot()
    {
        if (_bounded)
        {
            Interlocked.Increment(ref _free);
        }
    }

    private bool TryTakeDrainerPlace()
    {
        var draining = Volatile.Read(ref _draining);
        while (draining < _maxDrainers)
        {
            var seen = Interlocked.CompareExchange(ref _draining, draining + 1, draining);
            if (seen == draining)
            {
                return true;
            }

            draining = seen;
        }

        return false;
    }
}

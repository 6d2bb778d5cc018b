namespace Dataflow.Engine;

/// <summary>
/// How runs reach a step without a parallelism bound (an asynchronous node type with
/// <see cref="Graphs.GraphOptions.Unbounded"/> parallelism), instead of its <see cref="System.Threading.Tasks.Dataflow.ActionBlock{TInput}"/>:
/// a queue that at most one thread-pool work item per core drains, each starting the runs it takes in turn.
/// </summary>
/// <remarks>
/// <para>Such a block bounds nothing, so all it would add is a task per message and a continuation per run that
/// waits (about 200 bytes a run), and one work item per run in the thread pool's global queue: under a burst of
/// submits, a timer's callback or any other work queued behind them waits until every run ahead has started. Here a
/// run is started by a drainer that already runs: a run costs its queue slot, and the pool's queue holds at most one
/// drainer per core. A drainer starts at most <see cref="Quantum"/> runs, then queues itself again behind what
/// arrived meanwhile, so that it never holds a thread for long.</para>
/// <para>A run's step (<see cref="NetworkStep.ExecuteAsync"/>) goes as far as its first wait on the drainer's
/// thread and continues where its node's task completes; nothing awaits it here, which is why it never faults (what
/// it cannot attribute to the run goes to <see cref="BackgroundWork"/>). Runs in flight stay bounded by admission.</para>
/// <para>Drainers are counted in <c>_draining</c>: a post starts one when fewer than <see cref="MaxDrainers"/> run,
/// and a drainer that finds the queue empty stops, then looks once more and takes its place back if a run arrived
/// in between, so that no run is left in the queue with nobody draining it.</para>
/// </remarks>
internal sealed class UnboundedStepQueue(NetworkStep step) : IThreadPoolWorkItem
{
    /// <summary>How many runs a drainer starts before it lets the rest of the pool's queue go first.</summary>
    internal const int Quantum = 32;

    private static readonly int MaxDrainers = Environment.ProcessorCount;

    private readonly System.Collections.Concurrent.ConcurrentQueue<RunExecution> _runs = new();
    private int _draining;
    private int _completed;

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

    /// <summary>Takes no more runs; called once every run has left the network.</summary>
    public void Complete() => Volatile.Write(ref _completed, 1);

    /// <summary>Drains up to <see cref="Quantum"/> runs, then stops or queues itself again.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        for (var started = 0; started < Quantum; started++)
        {
            if (!_runs.TryDequeue(out var run))
            {
                Interlocked.Decrement(ref _draining);
                if (_runs.IsEmpty || !TryTakeDrainerSlot())
                {
                    return;
                }

                continue;
            }

            // Runs until its first wait; it never faults (see the remarks).
            _ = step.ExecuteAsync(run);
        }

        // Still holding its slot: behind whatever was queued meanwhile.
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    private void StartDrainer()
    {
        if (TryTakeDrainerSlot())
        {
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    private bool TryTakeDrainerSlot()
    {
        var draining = Volatile.Read(ref _draining);
        while (draining < MaxDrainers)
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

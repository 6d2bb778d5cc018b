using System.Collections.Concurrent;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>
/// A task scheduler with threads of its own, for node code that blocks. Blocking work queued here
/// never occupies a thread-pool thread, so asynchronous nodes and the engine keep their threads.
/// Threads are started as work needs them, up to the maximum, and kept until disposal.
/// </summary>
internal sealed class DedicatedThreadScheduler : TaskScheduler, IDisposable
{
    [ThreadStatic]
    private static DedicatedThreadScheduler? t_owner;

    private readonly BlockingCollection<Task> _tasks = [];
    private readonly Lock _gate = new();
    private readonly string _name;
    private readonly int _maxThreads;
    private int _threads;
    private int _idle;
    private int _queued;

    public DedicatedThreadScheduler(string name, int maxThreads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxThreads, 1);
        _name = name;
        _maxThreads = maxThreads;
    }

    public override int MaximumConcurrencyLevel => _maxThreads;

    /// <summary>Stops taking work; the threads finish what is queued and exit.</summary>
    public void Dispose() => _tasks.CompleteAdding();

    protected override void QueueTask(Task task)
    {
        _tasks.Add(task);

        // Start a thread when more tasks wait than threads are idle. A worker stops counting itself idle
        // before it stops counting its task as queued, so a stale count can only start one thread too many.
        if (Interlocked.Increment(ref _queued) <= Volatile.Read(ref _idle) || Volatile.Read(ref _threads) >= _maxThreads)
        {
            return;
        }

        lock (_gate)
        {
            if (_threads < _maxThreads)
            {
                _threads++;
                new Thread(Work) { IsBackground = true, Name = $"Dataflow {_name} #{_threads}" }.UnsafeStart();
            }
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued)
        => !taskWasPreviouslyQueued && t_owner == this && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _tasks.ToArray();

    private void Work()
    {
        t_owner = this;
        while (true)
        {
            Interlocked.Increment(ref _idle);
            Task? task;
            try
            {
                if (!_tasks.TryTake(out task, Timeout.Infinite))
                {
                    return;
                }
            }
            catch (InvalidOperationException)
            {
                // Disposed and drained.
                return;
            }
            finally
            {
                Interlocked.Decrement(ref _idle);
            }

            Interlocked.Decrement(ref _queued);
            TryExecuteTask(task);
        }
    }
}

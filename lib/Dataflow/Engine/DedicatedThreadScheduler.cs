using System.Collections.Concurrent;

namespace Dataflow.Engine;

/// <summary>
/// A task scheduler with threads of its own, for node code that blocks. Blocking work queued here
/// never occupies a thread-pool thread, so asynchronous nodes and the engine keep their threads.
/// </summary>
internal sealed class DedicatedThreadScheduler : TaskScheduler, IDisposable
{
    private readonly BlockingCollection<Task> _tasks = [];
    private readonly Thread[] _threads;

    public DedicatedThreadScheduler(string name, int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        _threads = new Thread[threadCount];
        for (var i = 0; i < threadCount; i++)
        {
            _threads[i] = new Thread(Work)
            {
                IsBackground = true,
                Name = $"Dataflow {name} #{i + 1}",
            };
            _threads[i].UnsafeStart();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Stops taking work; the threads finish what is queued and exit.</summary>
    public void Dispose() => _tasks.CompleteAdding();

    protected override void QueueTask(Task task) => _tasks.Add(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued)
        => !taskWasPreviouslyQueued && _threads.Contains(Thread.CurrentThread) && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _tasks.ToArray();

    private void Work()
    {
        foreach (var task in _tasks.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }
}

using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Measurement;

/// <summary>
/// Samples <see cref="ThreadPool.PendingWorkItemCount"/> every millisecond on a thread of its own and keeps the peak:
/// a long queue with free threads means work arrives in bursts faster than the cores drain it, not that threads are blocked.
/// </summary>
internal sealed class PoolQueue : IDisposable
{
    private readonly Thread _thread;
    private long _peak;
    private volatile bool _stopped;

    private PoolQueue()
    {
        _thread = new Thread(Sample) { IsBackground = true, Name = "bench pool sampler" };
        _thread.UnsafeStart();
    }

    public long Peak => Interlocked.Read(ref _peak);

    public static PoolQueue Start() => new();

    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }

    private void Sample()
    {
        while (!_stopped)
        {
            var pending = ThreadPool.PendingWorkItemCount;
            if (pending > _peak)
            {
                Interlocked.Exchange(ref _peak, pending);
            }

            Thread.Sleep(1);
        }
    }
}

using Dataflow.Diagnostics;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Measurement;

/// <summary>Samples the process's resident set every few milliseconds on a thread of its own and keeps the peak.</summary>
internal sealed class PeakMemory : IDisposable
{
    private readonly Thread _thread;
    private readonly long _startBytes;
    private long _peakBytes;
    private volatile bool _stopped;

    private PeakMemory()
    {
        _startBytes = ProcessMemory.ResidentBytes();
        _peakBytes = _startBytes;
        _thread = new Thread(Sample) { IsBackground = true, Name = "bench memory sampler" };
        _thread.UnsafeStart();
    }

    public double StartMb => _startBytes / 1048576.0;

    public double PeakMb => Interlocked.Read(ref _peakBytes) / 1048576.0;

    /// <summary>Collects garbage (decommitting freed memory) so that the sample starts from a clean heap, then starts sampling.</summary>
    public static PeakMemory Start()
    {
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return new PeakMemory();
    }

    public void Dispose()
    {
        _stopped = true;
        _thread.Join();
    }

    private void Sample()
    {
        while (!_stopped)
        {
            var bytes = ProcessMemory.ResidentBytes();
            if (bytes > Interlocked.Read(ref _peakBytes))
            {
                Interlocked.Exchange(ref _peakBytes, bytes);
            }

            Thread.Sleep(2);
        }
    }
}

using System.Diagnostics;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Measurement;

/// <summary>
/// A 10 ms <see cref="PeriodicTimer"/> whose loop runs on the thread pool, recording how late each beat comes.
/// When the pool is starved, the loop's continuation waits in the queue and the lag shows it.
/// </summary>
internal sealed class Heartbeat : IAsyncDisposable
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(10);

    private readonly PeriodicTimer _timer = new(Period);
    private readonly Task _loop;
    private double _maxLagMs;
    private long _beats;

    private Heartbeat()
    {
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(BeatAsync);
        }
    }

    /// <summary>The largest delay beyond the period between two beats, in milliseconds.</summary>
    public double MaxLagMs => Volatile.Read(ref _maxLagMs);

    public long Beats => Interlocked.Read(ref _beats);

    public static Heartbeat Start() => new();

    /// <summary>Stops the timer and returns the largest lag seen.</summary>
    public async Task<double> StopAsync()
    {
        _timer.Dispose();
        await _loop;
        return MaxLagMs;
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task BeatAsync()
    {
        var last = Stopwatch.GetTimestamp();
        while (await _timer.WaitForNextTickAsync())
        {
            var now = Stopwatch.GetTimestamp();
            var lag = (Stopwatch.GetElapsedTime(last, now) - Period).TotalMilliseconds;
            if (lag > _maxLagMs)
            {
                Volatile.Write(ref _maxLagMs, lag);
            }

            Interlocked.Increment(ref _beats);
            last = now;
        }
    }
}

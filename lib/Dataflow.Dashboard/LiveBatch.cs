using Dataflow.Dashboard.Live;
using Dataflow.Engine;

namespace Dataflow.Dashboard;

/// <summary>
/// A batch of runs that this process is running, as the dashboard shows it live: counts, throughput, a latency
/// histogram, the most recently ended runs, and the gates its runs wait at (which the page can answer through
/// <see cref="GraphEngine.ResolveGate"/>). The code that submits the runs hands each one to <see cref="Track"/>.
/// Thread-safe.
/// </summary>
public sealed class LiveBatch
{
    /// <summary>How many ended runs the page lists.</summary>
    internal const int RecentCapacity = 20;

    private readonly TimeProvider _time;
    private readonly LatencyBuckets _latencies = new();
    private readonly Queue<EndedRun> _recent = new();
    private readonly Lock _gate = new();
    private readonly long _startedAt;
    private (long At, long Ended)[] _samples = [];
    private long _submitted;
    private long _done;
    private long _failed;
    private long _cancelled;
    private int _finished;

    /// <summary>Creates the view of a batch that runs on <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine the batch's runs run on; its gates are listed and answered.</param>
    /// <param name="sessionId">The store session the batch's events are written to, so that its runs link to their pages; null when they are not stored.</param>
    /// <param name="timeProvider">The clock for throughput; the system clock when null.</param>
    public LiveBatch(GraphEngine engine, string? sessionId = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(engine);
        Engine = engine;
        SessionId = sessionId;
        _time = timeProvider ?? TimeProvider.System;
        _startedAt = _time.GetTimestamp();
    }

    /// <summary>The engine the batch runs on.</summary>
    public GraphEngine Engine { get; }

    /// <summary>The store session of the batch's events, or null.</summary>
    public string? SessionId { get; }

    /// <summary>Whether <see cref="Finish"/> was called: no run is submitted any more and every tracked run has ended.</summary>
    public bool IsFinished => Volatile.Read(ref _finished) == 1;

    /// <summary>Counts a submitted run, and its end when it ends.</summary>
    /// <param name="run">The run, as <see cref="GraphEngine.Submit"/> returned it.</param>
    public void Track(GraphRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Interlocked.Increment(ref _submitted);

        // No task is made for this: the continuation runs once, when the run's completion finishes.
        run.Completion.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => OnEnded(run));
    }

    /// <summary>Says that the batch is over: the page stops listing gates and says so.</summary>
    public void Finish() => Volatile.Write(ref _finished, 1);

    /// <summary>What the page shows, now.</summary>
    internal LiveSnapshot Snapshot()
    {
        var now = _time.GetTimestamp();
        var done = Interlocked.Read(ref _done);
        var failed = Interlocked.Read(ref _failed);
        var cancelled = Interlocked.Read(ref _cancelled);
        var ended = done + failed + cancelled;
        EndedRun[] recent;
        double throughput;
        lock (_gate)
        {
            recent = [.. _recent.Reverse()];
            throughput = Throughput(now, ended);
        }

        var finished = IsFinished;
        var active = finished ? [] : Engine.Active();
        var gates = active.SelectMany(r => r.PendingGates).OrderBy(g => g.RunId.Length).ThenBy(g => g.Id, StringComparer.Ordinal).Take(100).ToArray();
        return new LiveSnapshot(
            Interlocked.Read(ref _submitted),
            done,
            failed,
            cancelled,
            active.Count,
            active.Count(r => r.State == RunState.Waiting),
            throughput,
            _time.GetElapsedTime(_startedAt, now).TotalSeconds,
            _latencies.Counts(),
            gates,
            recent,
            finished);
    }

    /// <summary>Ended runs per second over about the last five seconds, from samples taken when snapshots are taken.</summary>
    private double Throughput(long now, long ended)
    {
        var frequency = (double)_time.TimestampFrequency;
        (long At, long Ended)[] samples = [.. _samples.Where(s => (now - s.At) / frequency <= 10), (now, ended)];
        if (samples.Length == 1 || (now - samples[^2].At) / frequency >= 0.5)
        {
            _samples = samples;
        }

        var oldest = samples.FirstOrDefault(s => (now - s.At) / frequency <= 5.5);
        var seconds = (now - oldest.At) / frequency;
        return seconds > 0.2 ? (ended - oldest.Ended) / seconds : 0;
    }

    private void OnEnded(GraphRun run)
    {
        switch (run.State)
        {
            case RunState.Done:
                Interlocked.Increment(ref _done);
                break;
            case RunState.Failed:
                Interlocked.Increment(ref _failed);
                break;
            default:
                Interlocked.Increment(ref _cancelled);
                break;
        }

        var milliseconds = run.Elapsed.TotalMilliseconds;
        _latencies.Add(milliseconds);
        lock (_gate)
        {
            _recent.Enqueue(new EndedRun(run.Id, run.State, milliseconds, run.Error));
            if (_recent.Count > RecentCapacity)
            {
                _recent.Dequeue();
            }
        }
    }
}

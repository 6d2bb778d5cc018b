using Dataflow.Dashboard.Pages;
using Dataflow.Engine;

namespace Dataflow.Dashboard.Live;

/// <summary>One ended run as the live page lists it.</summary>
internal sealed record EndedRun(string Id, RunState State, double DurationMs, string? Error);

/// <summary>What the live page shows at one moment.</summary>
internal sealed record LiveSnapshot(
    long Submitted,
    long Done,
    long Failed,
    long Cancelled,
    int Active,
    int Waiting,
    double RunsPerSecond,
    double ElapsedSeconds,
    IReadOnlyList<long> Latencies,
    IReadOnlyList<PendingGate> Gates,
    IReadOnlyList<EndedRun> Recent,
    bool Finished)
{
    public long Ended => Done + Failed + Cancelled;
}

/// <summary>A latency histogram with fixed bounds (1-2-5 steps from 1 ms to 5 s), counted without locks.</summary>
internal sealed class LatencyBuckets
{
    /// <summary>The upper bounds in milliseconds; the last bucket holds everything above the last bound.</summary>
    public static readonly double[] Bounds = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000];

    private readonly long[] _counts = new long[Bounds.Length + 1];

    /// <summary>The label of bucket <paramref name="index"/>: <c>≤ 5 ms</c>, or <c>&gt; 5 s</c> for the last.</summary>
    public static string Label(int index)
        => index < Bounds.Length ? "≤ " + Display.Milliseconds(Bounds[index]) : "> " + Display.Milliseconds(Bounds[^1]);

    public void Add(double milliseconds)
    {
        var index = Array.FindIndex(Bounds, b => milliseconds <= b);
        Interlocked.Increment(ref _counts[index < 0 ? Bounds.Length : index]);
    }

    public long[] Counts() => [.. _counts.Select(c => Interlocked.Read(ref c))];
}

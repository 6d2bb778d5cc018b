using System.Diagnostics;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Reporting;

/// <summary>
/// Counts a batch's runs as they end and keeps what the summary needs (latencies, node timings), not the runs.
/// Thread-safe: runs end on pool threads.
/// </summary>
internal sealed class RunStatistics
{
    private readonly Lock _gate = new();
    private readonly List<double> _latencies = [];
    private readonly Dictionary<string, List<double>> _nodeDurations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<double>> _dependencyDurations = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Node, string Type), (int Count, string Example)> _errors = [];
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private long _submitted;
    private long _done;
    private long _failed;
    private long _cancelled;
    private long _rejectedLines;
    private TimeSpan? _elapsed;

    public long Submitted => Interlocked.Read(ref _submitted);

    public long Done => Interlocked.Read(ref _done);

    public long Failed => Interlocked.Read(ref _failed);

    public long Cancelled => Interlocked.Read(ref _cancelled);

    public long Ended => Done + Failed + Cancelled;

    public long InFlight => Submitted - Ended;

    public long RejectedLines => Interlocked.Read(ref _rejectedLines);

    /// <summary>Since the batch started; frozen by <see cref="Stop"/>.</summary>
    public TimeSpan Elapsed => _elapsed ?? Stopwatch.GetElapsedTime(_startTimestamp);

    /// <summary>Ended runs per second.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? Ended / Elapsed.TotalSeconds : 0;

    public void Stop() => _elapsed ??= Stopwatch.GetElapsedTime(_startTimestamp);

    public void OnSubmitted() => Interlocked.Increment(ref _submitted);

    public void OnRejectedLine() => Interlocked.Increment(ref _rejectedLines);

    /// <summary>Records a run that reached its final state.</summary>
    public void OnEnded(GraphRun run)
    {
        var timings = run.NodeTimings;
        var dependencies = run.DepTimings;
        var latency = run.EndedAt is { } end ? (end - run.StartedAt).TotalMilliseconds : run.Elapsed.TotalMilliseconds;
        lock (_gate)
        {
            // Latency describes runs that went their whole way; a cancelled run was cut short.
            if (run.State != RunState.Cancelled)
            {
                _latencies.Add(latency);
            }

            foreach (var timing in timings)
            {
                Add(_nodeDurations, timing.Node, timing.DurationMs);
            }

            foreach (var timing in dependencies)
            {
                Add(_dependencyDurations, timing.Name, timing.DurationMs);
            }

            if (run.State == RunState.Failed && run.Exception is { } error)
            {
                // Grouped by where and what, not by message: messages usually carry the input's data.
                var key = (run.Graph.NameOf(run.CurrentNode.GetType()), error.GetType().Name);
                _errors[key] = _errors.TryGetValue(key, out var seen) ? (seen.Count + 1, seen.Example) : (1, run.Error!);
            }
        }

        // Counted last, so that whoever sees the count also sees the run's data.
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
    }

    public double[] Latencies()
    {
        lock (_gate)
        {
            var copy = _latencies.ToArray();
            Array.Sort(copy);
            return copy;
        }
    }

    /// <summary>Per node type: executions, mean and p99 in milliseconds, slowest mean first.</summary>
    public IReadOnlyList<NodeStats> Nodes() => Summarize(_nodeDurations);

    /// <summary>Per dependency: computations, mean and p99 in milliseconds, slowest mean first.</summary>
    public IReadOnlyList<NodeStats> Dependencies() => Summarize(_dependencyDurations);

    private static void Add(Dictionary<string, List<double>> durations, string name, double durationMs)
    {
        if (!durations.TryGetValue(name, out var list))
        {
            list = [];
            durations[name] = list;
        }

        list.Add(durationMs);
    }

    private IReadOnlyList<NodeStats> Summarize(Dictionary<string, List<double>> durations)
    {
        lock (_gate)
        {
            return [.. durations
                .Select(kv =>
                {
                    var sorted = kv.Value.ToArray();
                    Array.Sort(sorted);
                    return new NodeStats(kv.Key, sorted.Length, sorted.Average(), Percentile(sorted, 99), sorted[^1]);
                })
                .OrderByDescending(n => n.MeanMs)];
        }
    }

    /// <summary>The most frequent failures, grouped by the node that failed and the exception type, each with one example.</summary>
    public IReadOnlyList<FailureGroup> TopErrors(int count)
    {
        lock (_gate)
        {
            return [.. _errors
                .Select(kv => new FailureGroup(kv.Key.Node, kv.Key.Type, kv.Value.Count, kv.Value.Example))
                .OrderByDescending(g => g.Count)
                .ThenBy(g => g.Node, StringComparer.Ordinal)
                .Take(count)];
        }
    }

    /// <summary>Nearest-rank percentile of sorted values; 0 for none.</summary>
    public static double Percentile(double[] sorted, double percentile)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>Timing of one node type over a batch.</summary>
internal sealed record NodeStats(string Node, int Count, double MeanMs, double P99Ms, double MaxMs);

/// <summary>Failed runs that failed at the same node with the same exception type.</summary>
internal sealed record FailureGroup(string Node, string ExceptionType, int Count, string Example);

using System.Collections.Concurrent;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Bdn;

/// <summary>
/// Figures BenchmarkDotNet does not measure itself (heartbeat lag, latency percentiles, peak memory, losses),
/// recorded by the benchmarks per case and shown by <see cref="FigureColumn"/>. Each figure keeps its worst value
/// over the iterations (the largest lag, percentile, peak or loss).
/// </summary>
internal static class Figures
{
    public const string HeartbeatLag = "heartbeat";
    public const string RunP50 = "p50";
    public const string RunP99 = "p99";
    public const string PeakMb = "peak";
    public const string Lost = "lost";

    private static readonly ConcurrentDictionary<(string Case, string Figure), double> Values = new();

    public static void Record(string benchmarkCase, string figure, double value)
        => Values.AddOrUpdate((benchmarkCase, figure), value, (_, old) => Math.Max(old, value));

    public static double? Get(string benchmarkCase, string figure)
        => Values.TryGetValue((benchmarkCase, figure), out var value) ? value : null;

    /// <summary>The key of a case: its type, method and parameter values, as the column sees them too.</summary>
    public static string Key(string type, string method, params (string Name, object Value)[] parameters)
        => $"{type}.{method}({string.Join(",", parameters.Select(p => $"{p.Name}={p.Value}"))})";
}

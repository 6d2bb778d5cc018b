using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Measurement;

/// <summary>Runs ours and the baseline alternately, so that machine noise hits both alike, and keeps the median of each.</summary>
internal static class Repeat
{
    /// <returns>
    /// The median of each side, and the median of the per-repetition ratios: each pair ran back to back, so the paired
    /// ratio cancels most of the load that other work puts on a shared machine.
    /// </returns>
    public static async Task<(double Ours, double Baseline, double Ratio)> MedianAsync(int repetitions, Func<Task<double>> ours, Func<Task<double>> baseline)
    {
        var a = new List<double>();
        var b = new List<double>();
        var ratios = new List<double>();
        for (var i = 0; i < repetitions; i++)
        {
            a.Add(await ours());
            b.Add(await baseline());
            ratios.Add(a[^1] / b[^1]);
            if (Environment.GetEnvironmentVariable("BENCH_TRACE") == "1") Console.Error.WriteLine($"  rep {i}: {a[^1]:N0} / {b[^1]:N0} = {ratios[^1]:N2}");
        }

        return (Median(a), Median(b), Median(ratios));
    }

    /// <summary>
    /// Runs each workload in turn until <paramref name="duration"/> has passed (at least twice each), so that tiered
    /// compilation has promoted the hot paths of both sides before anything is measured.
    /// </summary>
    public static async Task WarmUpAsync(TimeSpan duration, params Func<Task>[] workloads)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        for (var pass = 0; pass < 2 || watch.Elapsed < duration; pass++)
        {
            foreach (var workload in workloads)
            {
                await workload();
            }
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}

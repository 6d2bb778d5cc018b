using System.Runtime;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Measurement;

/// <summary>Runs ours and the baseline alternately, so that machine noise hits both alike, and keeps the median of each.</summary>
internal static class Repeat
{
    /// <summary>A warm-up pass that compiled at most this many methods leaves the JIT quiet enough to measure.</summary>
    private const int QuietJitMethods = 100;

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
            // Methods compiled while each side ran: the trace shows whether the warm-up left the JIT quiet.
            var compiled = JitInfo.GetCompiledMethodCount();
            a.Add(await ours());
            var compiledOurs = JitInfo.GetCompiledMethodCount() - compiled;
            compiled = JitInfo.GetCompiledMethodCount();
            b.Add(await baseline());
            ratios.Add(a[^1] / b[^1]);
            if (Environment.GetEnvironmentVariable("BENCH_TRACE") == "1") Console.Error.WriteLine($"  rep {i}: {a[^1]:N0} / {b[^1]:N0} = {ratios[^1]:N2}  (methods compiled: {compiledOurs} / {JitInfo.GetCompiledMethodCount() - compiled})");
        }

        return (Median(a), Median(b), Median(ratios));
    }

    /// <summary>
    /// Runs each workload in turn until <paramref name="duration"/> has passed (at least twice each) and a whole pass
    /// compiled at most <see cref="QuietJitMethods"/> methods (or four times <paramref name="duration"/> has passed), so
    /// that tiered compilation has promoted the hot paths of both sides before anything is measured. Time alone is not
    /// enough: the runtime recompiles a hot method only after it has been called a while at tier 0, and a measured
    /// repetition that recompiles hundreds of methods on 2 cores measures the JIT.
    /// </summary>
    public static async Task WarmUpAsync(TimeSpan duration, params Func<Task>[] workloads)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var compiledInPass = long.MaxValue;
        for (var pass = 0; pass < 2 || (watch.Elapsed < duration * 4 && (watch.Elapsed < duration || compiledInPass > QuietJitMethods)); pass++)
        {
            var compiled = JitInfo.GetCompiledMethodCount();
            foreach (var workload in workloads)
            {
                await workload();
            }

            compiledInPass = JitInfo.GetCompiledMethodCount() - compiled;
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}

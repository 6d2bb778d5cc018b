using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;

namespace Dataflow.Bench.Cases;

/// <summary>
/// <c>scaleout.workers</c>: one job of I/O-bound runs (three nodes of 20 ms each, in-flight bound 50 per worker) worked
/// by 1, 2 and 3 worker processes on one PostgreSQL, measured side by side in one run: throughput with 3 against 1
/// (target at least 2.5: such runs wait, so the CPU is not the limit even on 2 cores).
/// </summary>
internal sealed class ScaleoutWorkersCase : IBenchCase
{
    /// <summary>Inputs each worker process works before the measured job (measuring sizes).</summary>
    private const int WarmUpRuns = 1_500;

    public string Name => "scaleout.workers";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        await using var workload = await ScaleoutWorkload.StartAsync();
        // The smoke size only proves the processes work together: 1 and 3 workers, once. Measuring sizes alternate all three twice.
        int[] counts = size.Repetitions > 1 ? [1, 3, 2] : [1, 3];

        // Each worker process first works a warm-up job of its own, so that its JIT is done before the measured job (smoke: none).
        var warmUp = size.Repetitions > 1 ? WarmUpRuns : 0;
        var rates = counts.ToDictionary(c => c, _ => new List<double>());
        for (var repetition = 0; repetition < Math.Min(size.Repetitions, 2); repetition++)
        {
            foreach (var workers in counts)
            {
                rates[workers].Add(await workload.MeasureAsync(workers, size.ScaleoutRuns, warmUp));
            }
        }

        var one = rates[1].Max();
        var rows = new List<ReportRow>
        {
            new("scaleout.workers", "runs_per_s_3_workers", rates[3].Max(), "runs/s", "1 worker, same job", one, Target.RatioAtLeast(2.5)),
        };
        if (rates.TryGetValue(2, out var two))
        {
            rows.Add(new ReportRow("scaleout.workers", "runs_per_s_2_workers", two.Max(), "runs/s", "1 worker, same job", one));
        }

        return rows;
    }
}

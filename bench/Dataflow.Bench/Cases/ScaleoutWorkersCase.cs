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
    public string Name => "scaleout.workers";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        await using var workload = await ScaleoutWorkload.StartAsync();
        var rates = new Dictionary<int, List<double>> { [1] = [], [2] = [], [3] = [] };
        for (var repetition = 0; repetition < Math.Min(size.Repetitions, 2); repetition++)
        {
            foreach (var workers in new[] { 1, 3, 2 })
            {
                rates[workers].Add(await workload.MeasureAsync(workers, size.ScaleoutRuns));
            }
        }

        var one = rates[1].Max();
        return
        [
            new ReportRow("scaleout.workers", "runs_per_s_3_workers", rates[3].Max(), "runs/s", "1 worker, same job", one, Target.RatioAtLeast(2.5)),
            new ReportRow("scaleout.workers", "runs_per_s_2_workers", rates[2].Max(), "runs/s", "1 worker, same job", one),
        ];
    }
}

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
    /// <summary>Inputs of each warm-up job a worker process works before the measured job (measuring sizes).</summary>
    private const int WarmUpRuns = 1_500;

    public string Name => "scaleout.workers";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        await using var workload = await ScaleoutWorkload.StartAsync();
        // The smoke size only proves the processes work together: 1 and 3 workers, once. Measuring sizes alternate all three twice.
        int[] counts = size.Repetitions > 1 ? [1, 3, 2] : [1, 3];

        // Each worker process first works warm-up jobs of its own until its JIT is quiet, before the measured job (smoke: none).
        var warmUp = size.Repetitions > 1 ? WarmUpRuns : 0;
        var rates = counts.ToDictionary(c => c, _ => new List<ScaleoutMeasurement>());
        for (var repetition = 0; repetition < Math.Min(size.Repetitions, 2); repetition++)
        {
            foreach (var workers in counts)
            {
                var measured = await workload.MeasureAsync(workers, size.ScaleoutRuns, warmUp);
                rates[workers].Add(measured);
                Console.Error.WriteLine(FormattableString.Invariant(
                    $"  {Name}: {workers} worker(s) {measured.RunsPerSecond:N0} runs/s; CPU per run {measured.WorkerCpuMs:0.000} ms in the workers, {measured.ServerCpuMs:0.000} ms in the server"));
            }
        }

        var one = rates[1].Max(m => m.RunsPerSecond);
        var rows = new List<ReportRow>
        {
            new(Name, "runs_per_s_3_workers", rates[3].Max(m => m.RunsPerSecond), "runs/s", "1 worker, same job", one, Target.RatioAtLeast(2.5)),
        };
        if (rates.TryGetValue(2, out var two))
        {
            rows.Add(new ReportRow(Name, "runs_per_s_2_workers", two.Max(m => m.RunsPerSecond), "runs/s", "1 worker, same job", one));
        }

        // What bounds 3 workers on a small machine: the CPU each run costs, in the workers and in the server (least of the repetitions; reported, no target).
        rows.Add(new ReportRow(Name, "worker_cpu_ms_per_run_3_workers", rates[3].Min(m => m.WorkerCpuMs), "ms", "1 worker, same job", rates[1].Min(m => m.WorkerCpuMs)));
        if (rates[3].All(m => m.ServerCpuMs is not null) && rates[1].All(m => m.ServerCpuMs is not null))
        {
            rows.Add(new ReportRow(Name, "server_cpu_ms_per_run_3_workers", rates[3].Min(m => m.ServerCpuMs!.Value), "ms", "1 worker, same job", rates[1].Min(m => m.ServerCpuMs!.Value)));
        }

        return rows;
    }
}

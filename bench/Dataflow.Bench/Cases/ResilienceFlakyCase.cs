using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;

namespace Dataflow.Bench.Cases;

/// <summary>
/// resilience.flaky: healthy runs' throughput while another workload on the same engine retries half its runs twice
/// after a 50 ms backoff, against the healthy runs alone; and the retries counted against those expected.
/// </summary>
internal sealed class ResilienceFlakyCase : IBenchCase
{
    private const string Alone = "healthy runs alone";

    public string Name => "resilience.flaky";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        await using var workload = new FlakyWorkload();
        var warmup = Math.Min(size.ResilienceRuns, 2_000);
        await Repeat.WarmUpAsync(size.WarmUp, () => workload.RunAsync(warmup, withFlaky: true), () => workload.RunAsync(warmup, withFlaky: false));
        FlakyFigures? last = null;
        long retries = 0;
        long expected = 0;
        var (ours, alone, ratio) = await Repeat.MedianAsync(
            size.Repetitions,
            async () =>
            {
                last = await workload.RunAsync(size.ResilienceRuns, withFlaky: true);
                retries += last.Retries;
                expected += 2L * last.FailingRuns;
                return last.HealthyRunsPerSecond;
            },
            async () => (await workload.RunAsync(size.ResilienceRuns, withFlaky: false)).HealthyRunsPerSecond);
        return
        [
            new ReportRow(Name, "healthy_runs_per_s", ours, "runs/s", Alone, alone, Target.RatioAtLeast(0.8), ratio),
            new ReportRow(Name, "retries", retries, "retries", "expected: 2 per failing run", expected, Target.RatioAtLeast(1.0)),
            new ReportRow(Name, "flaky_runs_last_rep", last!.FlakyRuns, "runs", "of which failing twice", last.FailingRuns),
        ];
    }
}

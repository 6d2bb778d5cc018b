using Dataflow.Bench.Measurement;
using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Checkpoints;
using Dataflow.Events;

namespace Dataflow.Bench.Cases;

/// <summary>
/// durable.overhead: the throughput case's runs (Silent) with durability on, against the same runs off, side by side;
/// once with group commit (the default, judged) and once written behind (reported). Each side keeps one engine (and
/// the durable sides one store) across its measurements, warmed up alike, as a long batch job would.
/// </summary>
internal sealed class DurableOverheadCase : IBenchCase
{
    public string Name => "durable.overhead";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        // Every run writes three checkpoints, so a tenth of the throughput case's runs takes about as long.
        var runs = Math.Max(200, size.ThroughputRuns / 10);
        var repetitions = Math.Min(size.Repetitions, 3);
        await using var off = new ThroughputWorkload(OutputPolicy.Silent, withSink: false);
        await using var grouped = new DurableThroughputWorkload(CheckpointCommitMode.GroupCommit);
        await using var written = new DurableThroughputWorkload(CheckpointCommitMode.WriteBehind);
        // Warmed up at the measured size for four times the usual time: the durable path (checkpoints, JSON, SQLite,
        // Dapper) has far more code to tier up, and after a second of 2,000-run passes its first measurements still ran
        // at a third of its steady rate (15-25k against 50k+ runs/s), while a long batch job runs warm.
        await Repeat.WarmUpAsync(size.WarmUp * 4, () => off.RunEngineAsync(runs), () => grouped.RunAsync(runs), () => written.RunAsync(runs));
        var group = await Repeat.MedianAsync(repetitions, () => grouped.RunAsync(runs), () => off.RunEngineAsync(runs));
        var behind = await Repeat.MedianAsync(repetitions, () => written.RunAsync(runs), () => off.RunEngineAsync(runs));
        return
        [
            new ReportRow(Name, "group_commit_runs_per_s", group.Ours, "runs/s", "same runs, durability off", group.Baseline, Target.RatioAtLeast(0.5), group.Ratio),
            new ReportRow(Name, "write_behind_runs_per_s", behind.Ours, "runs/s", "same runs, durability off", behind.Baseline, null, behind.Ratio),
        ];
    }
}

/// <summary>durable.resume: resuming runs left waiting at a gate by a stopped engine, against submitting them fresh.</summary>
internal sealed class DurableResumeCase : IBenchCase
{
    public string Name => "durable.resume";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        // 100,000 at full size, as the target says; the throughput case's runs scale the smaller sizes.
        var runs = size.Name == "full" ? 100_000 : Math.Max(500, size.ThroughputRuns / 2);
        var (resume, fresh) = await DurableWorkload.ResumeAsync(runs);
        return [new ReportRow(Name, "resume_s", resume, "s", $"submitting the {runs:N0} runs fresh", fresh, Target.RatioAtMost(2), resume / fresh)];
    }
}

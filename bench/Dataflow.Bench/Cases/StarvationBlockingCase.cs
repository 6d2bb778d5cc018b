using Dataflow.Bench.Report;
using Dataflow.Bench.Workloads;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>
/// starvation.blocking: async runs while rounds of nodes block a thread each, with those nodes declared blocking,
/// against the same blocking code naively on the thread pool; and the async runs' p99 against the same runs with no blocking work.
/// </summary>
internal sealed class StarvationBlockingCase : IBenchCase
{
    public string Name => "starvation.blocking";

    public async Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size)
    {
        var warmup = size with { BlockingAsyncRuns = 50, BlockingNodes = 2, BlockingMs = 20, BlockingRounds = 1 };
        await BlockingWorkload.RunAsync(warmup, BlockingMode.Declared);

        // The naive mode goes last: it makes the pool inject threads, which would flatter whatever ran after it.
        var reference = await BlockingWorkload.RunAsync(size, BlockingMode.None);
        var declared = await BlockingWorkload.RunAsync(size, BlockingMode.Declared);
        var naive = await BlockingWorkload.RunAsync(size, BlockingMode.Naive);
        const string NoBlocking = "same runs, no blocking work";
        return
        [
            new ReportRow(Name, "heartbeat_max_lag_ms", declared.HeartbeatMaxLagMs, "ms", "blocking naively on the pool", naive.HeartbeatMaxLagMs, Target.ValueAtMost(20, "ms")),
            new ReportRow(Name, "async_run_p99_ms", declared.AsyncRuns.P99, "ms", NoBlocking, reference.AsyncRuns.P99, Target.RatioAtMost(2.0)),
            new ReportRow(Name, "async_run_p50_ms", declared.AsyncRuns.P50, "ms", NoBlocking, reference.AsyncRuns.P50),
            new ReportRow(Name, "naive_async_run_p99_ms", naive.AsyncRuns.P99, "ms", NoBlocking, reference.AsyncRuns.P99),
            new ReportRow(Name, "heartbeat_lag_no_blocking_ms", reference.HeartbeatMaxLagMs, "ms", "blocking naively on the pool", naive.HeartbeatMaxLagMs),
        ];
    }
}

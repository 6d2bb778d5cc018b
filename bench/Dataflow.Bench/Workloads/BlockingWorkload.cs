using Dataflow.Bench.Measurement;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Workloads;

/// <summary>How the blocking nodes run in one measurement.</summary>
internal enum BlockingMode
{
    /// <summary>No blocking work at all: the async runs alone, the reference for their latency.</summary>
    None,

    /// <summary>The blocking node declared blocking: it runs on the engine's dedicated threads.</summary>
    Declared,

    /// <summary>The same node with the declaration overridden: it blocks thread-pool threads.</summary>
    Naive,
}

/// <summary>What one blocking measurement saw.</summary>
internal sealed record BlockingFigures(Latencies AsyncRuns, double HeartbeatMaxLagMs);

/// <summary>
/// Async stress runs submitted at a steady pace while rounds of blocking runs each block a thread; the async
/// runs' latency and a heartbeat show whether the blocking code starves the asynchronous code.
/// </summary>
internal static class BlockingWorkload
{
    private const int Batches = 10;

    public static async Task<BlockingFigures> RunAsync(BenchSize size, BlockingMode mode)
    {
        var asyncGraph = Graph.Create<StressStart>(new GraphOptions { MaxDegreeOfParallelism = GraphOptions.Unbounded, MaxRunsInFlight = size.BlockingAsyncRuns });
        var blockingOptions = new GraphOptions { MaxRunsInFlight = size.BlockingNodes * size.BlockingRounds };
        blockingOptions.Node<BlockingWork>().MaxDegreeOfParallelism = size.BlockingNodes;
        blockingOptions.Node<BlockingWork>().Blocking = mode != BlockingMode.Naive;
        var blockingGraph = Graph.Create<BlockingWork>(blockingOptions);
        var silent = new RunOptions { Policy = OutputPolicy.Silent };

        await using var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false });
        var asyncRuns = new List<GraphRun>(size.BlockingAsyncRuns);
        var blockingRuns = new List<GraphRun>();
        var submitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var heartbeat = Heartbeat.Start();

        // Submitted from a thread of its own, paced with Thread.Sleep, so that the submitter is never the one starved.
        var submitter = new Thread(() =>
        {
            try
            {
                Submit();
                submitted.SetResult();
            }
            catch (Exception e)
            {
                // Handed to the awaiting case, which reports it; an exception on this thread would kill the process.
                submitted.SetException(e);
            }
        })
        { IsBackground = true, Name = "bench submitter" };
        submitter.Start();
        await submitted.Task;
        await Task.WhenAll(asyncRuns.Concat(blockingRuns).Select(r => r.Completion));
        var lag = await heartbeat.StopAsync();
        var failed = asyncRuns.Concat(blockingRuns).Count(r => r.State != RunState.Done);
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} runs did not end Done in the blocking workload ({mode}).");
        }

        return new BlockingFigures(new Latencies(asyncRuns.Select(r => (r.EndedAt!.Value - r.StartedAt).TotalMilliseconds)), lag);

        void Submit()
        {
            var perRound = DivideEvenly(size.BlockingAsyncRuns, size.BlockingRounds);
            for (var round = 0; round < size.BlockingRounds; round++)
            {
                if (mode != BlockingMode.None)
                {
                    for (var i = 0; i < size.BlockingNodes; i++)
                    {
                        blockingRuns.Add(engine.Submit(blockingGraph, new BlockingWork(size.BlockingMs), silent));
                    }
                }

                foreach (var batch in DivideEvenly(perRound[round], Batches))
                {
                    for (var i = 0; i < batch; i++)
                    {
                        asyncRuns.Add(engine.Submit(asyncGraph, new StressStart(StarvationWorkload.DelayMs), silent));
                    }

                    Thread.Sleep(size.BlockingMs / Batches);
                }
            }
        }
    }

    private static int[] DivideEvenly(int total, int parts)
        => [.. Enumerable.Range(0, parts).Select(i => (total / parts) + (i < total % parts ? 1 : 0))];
}

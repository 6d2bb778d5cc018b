using System.Diagnostics;
using Dataflow.Bench.Measurement;
using Dataflow.Bench.Workloads;
using Dataflow.Graphs;
using Microsoft.Agents.AI.Workflows;

namespace Dataflow.Bench.Peers;

/// <summary>
/// Workloads A, B and C of <see cref="PeerWorkloads"/> on Microsoft Agent Framework Workflows 1.28, in what we take for its
/// idiomatic fastest form: one workflow of three function executors built once (declared thread-safe, so that runs
/// share it), and one in-process run per item, as many at once as the other sides have in flight. A run's result is the
/// output event of its last executor. C runs one item at a time through the same workflow.
/// </summary>
internal static class AgentWorkflowPeer
{
    /// <summary>A: items through the three trivial steps, <paramref name="inFlight"/> runs at a time.</summary>
    public static async Task<(double ItemsPerSecond, double BytesPerItem)> AAsync(int items, int inFlight)
    {
        var workflow = PingWorkflow();
        var bytes = GC.GetTotalAllocatedBytes(precise: true);
        var t0 = Stopwatch.GetTimestamp();
        var next = -1;
        var workers = new Task[inFlight];
        for (var w = 0; w < inFlight; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < items)
                {
                    await RunOneAsync(workflow, new PingStart(i));
                }
            });
        }

        await Task.WhenAll(workers);
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        return (items / seconds, (GC.GetTotalAllocatedBytes(precise: true) - bytes) / (double)items);
    }

    /// <summary>C: one run at a time, microseconds each.</summary>
    public static async Task<Latencies> CAsync(int runs)
    {
        var workflow = PingWorkflow();
        var micros = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await RunOneAsync(workflow, new PingStart(i));
            micros[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }

        return new Latencies(micros);
    }

    /// <summary>B: every run at once, each two <c>Task.Delay(10)</c> executors; its latency, the heartbeat, bytes.</summary>
    public static async Task<ConcurrentFigures> BAsync(int runs)
    {
        var context = BaselineContext.Create("maf", new StressStart(StarvationWorkload.DelayMs));
        var first = ((Func<StressStart, ValueTask<StressMiddle>>)(node => node.RunAsync(context))).BindAsExecutor("start", threadsafe: true);
        var second = ((Func<StressMiddle, ValueTask<StressEnd>>)(node => node.RunAsync(context))).BindAsExecutor("middle", threadsafe: true);
        var workflow = new WorkflowBuilder(first).AddEdge(first, second).WithOutputFrom(second).Build();

        await using var heartbeat = Heartbeat.Start();
        var bytes = GC.GetTotalAllocatedBytes(precise: true);
        var t0 = Stopwatch.GetTimestamp();
        var tasks = new Task<double>[runs];
        for (var i = 0; i < runs; i++)
        {
            tasks[i] = TimedRunAsync(workflow);
        }

        var latencies = await Task.WhenAll(tasks);
        var wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - bytes;
        var lag = await heartbeat.StopAsync();
        return new ConcurrentFigures(wall, new Latencies(latencies), lag, allocated / (double)runs);
    }

    private static Workflow PingWorkflow()
    {
        var context = BaselineContext.Create("maf", new PingStart(0));
        var first = ((Func<PingStart, ValueTask<PingMiddle>>)(node => node.RunAsync(context))).BindAsExecutor("start", threadsafe: true);
        var second = ((Func<PingMiddle, ValueTask<PingEnd>>)(node => node.RunAsync(context))).BindAsExecutor("middle", threadsafe: true);
        var third = ((Func<PingEnd, ValueTask<PingEnd>>)ValueTask.FromResult).BindAsExecutor("end", threadsafe: true);
        return new WorkflowBuilder(first).AddEdge(first, second).AddEdge(second, third).WithOutputFrom(third).Build();
    }

    private static async Task<double> TimedRunAsync(Workflow workflow)
    {
        var t0 = Stopwatch.GetTimestamp();
        await RunOneAsync(workflow, new StressStart(StarvationWorkload.DelayMs));
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    /// <summary>Runs the workflow on one input to its end and checks that its last executor gave an output.</summary>
    private static async Task RunOneAsync<TInput>(Workflow workflow, TInput input)
        where TInput : INode
    {
        // The concurrent environment: the one that lets runs of one workflow overlap (the default refuses a second).
        await using var run = await InProcessExecution.Concurrent.RunAsync(workflow, input);
        foreach (var e in run.OutgoingEvents)
        {
            if (e is WorkflowOutputEvent)
            {
                return;
            }
        }

        throw new InvalidOperationException("The workflow run ended without an output.");
    }
}

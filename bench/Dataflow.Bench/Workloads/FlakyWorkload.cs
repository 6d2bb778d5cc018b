using System.Diagnostics;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Bench.Workloads;

/// <summary>What one resilience.flaky measurement saw: the healthy runs' throughput, and the flaky workload's retries.</summary>
internal sealed record FlakyFigures(double HealthyRunsPerSecond, int FlakyRuns, int FailingRuns, long Retries);

/// <summary>
/// Two workloads on one engine: healthy runs (two async nodes, 1 ms of waiting each) and, beside them, a flaky
/// workload whose every other run fails twice and is retried after a 50 ms backoff. Measures the healthy runs'
/// throughput alone and with the flaky workload alongside; the flaky runs must free their slots and threads while
/// they back off for the healthy ones to keep their pace.
/// </summary>
internal sealed class FlakyWorkload : IAsyncDisposable
{
    public const int BackoffMs = 50;

    private const int InFlight = 64;

    private readonly GraphEngine _engine = new(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false });
    private readonly Graph _healthy = Graph.Create<HealthyStart>(new GraphOptions { MaxDegreeOfParallelism = GraphOptions.Unbounded, MaxRunsInFlight = InFlight });
    private readonly Graph _flaky;
    private readonly RunOptions _silent = new() { Policy = OutputPolicy.Silent };

    public FlakyWorkload()
    {
        var options = new GraphOptions { MaxRunsInFlight = InFlight };
        options.Node<FlakyCall>().MaxDegreeOfParallelism = 8;
        options.Node<FlakyCall>().Retry = new RetryPolicy { MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(BackoffMs), BackoffFactor = 1, Jitter = 0.2 };
        _flaky = Graph.Create<FlakyCall>(options);
    }

    /// <summary>The healthy runs alone, or with the flaky workload submitting alongside until they are done.</summary>
    public async Task<FlakyFigures> RunAsync(int healthyRuns, bool withFlaky)
    {
        using var stop = new CancellationTokenSource();
        var flaky = withFlaky ? Task.Run(() => SubmitFlakyAsync(stop.Token)) : Task.FromResult(new List<GraphRun>());
        var runs = new GraphRun[healthyRuns];
        var t0 = Stopwatch.GetTimestamp();
        for (var i = 0; i < healthyRuns; i++)
        {
            runs[i] = await _engine.SubmitAsync(_healthy, new HealthyStart(), _silent);
        }

        await Task.WhenAll(runs.Select(r => r.Completion));
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        await stop.CancelAsync();
        var flakyRuns = await flaky;
        await Task.WhenAll(flakyRuns.Select(r => r.Completion));
        var notDone = runs.Concat(flakyRuns).FirstOrDefault(r => r.State != RunState.Done);
        if (notDone is not null)
        {
            throw new InvalidOperationException($"Run {notDone.Id} ended {notDone.State}: {notDone.Error}");
        }

        var retries = flakyRuns.Sum(r => r.NodeTimings.Count(t => t.Attempt > 1));
        return new FlakyFigures(healthyRuns / seconds, flakyRuns.Count, flakyRuns.Count(r => ((FlakyCall)r.Trace[0]).Fails), retries);
    }

    public ValueTask DisposeAsync() => _engine.DisposeAsync();

    private async Task<List<GraphRun>> SubmitFlakyAsync(CancellationToken stop)
    {
        var runs = new List<GraphRun>();
        while (!stop.IsCancellationRequested)
        {
            runs.Add(await _engine.SubmitAsync(_flaky, new FlakyCall(Fails: runs.Count % 2 == 0), _silent, CancellationToken.None));
        }

        return runs;
    }
}

public sealed record HealthyStart : INode<HealthyMiddle>
{
    public async ValueTask<HealthyMiddle> RunAsync(NodeContext context)
    {
        await Task.Delay(1, context.CancellationToken).ConfigureAwait(false);
        return new HealthyMiddle();
    }
}

public sealed record HealthyMiddle : INode<HealthyEnd>
{
    public async ValueTask<HealthyEnd> RunAsync(NodeContext context)
    {
        await Task.Delay(1, context.CancellationToken).ConfigureAwait(false);
        return new HealthyEnd();
    }
}

public sealed record HealthyEnd : INode;

/// <summary>A call to a flaky service: when it <see cref="Fails"/>, its first two attempts throw.</summary>
public sealed record FlakyCall(bool Fails) : INode<FlakyDone>
{
    public async ValueTask<FlakyDone> RunAsync(NodeContext context)
    {
        await Task.Delay(1, context.CancellationToken).ConfigureAwait(false);
        return Fails && context.Attempt <= 2 ? throw new TimeoutException("the service timed out") : new FlakyDone(context.Attempt);
    }
}

public sealed record FlakyDone(int Attempts) : INode;

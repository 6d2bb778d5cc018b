using System.Diagnostics;
using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;

namespace Dataflow.Bench.Workloads;

/// <summary>
/// The throughput case's Ping graph made durable, on one SQLite store in a scratch folder (for
/// <c>durable.overhead</c>). Like <see cref="ThroughputWorkload"/>, the store and the engine live across measurements,
/// so both sides are measured warm and neither pays for opening anything; the store's file grows as a long batch's would.
/// </summary>
internal sealed class DurableThroughputWorkload : IAsyncDisposable
{
    private readonly ScratchDirectory _scratch = new();
    private readonly SessionStore _store;
    private readonly GraphEngine _engine;
    private readonly Graph _graph = Graph.Create<PingStart>(new GraphOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, MaxRunsInFlight = ThroughputWorkload.InFlight, Durable = true });
    private readonly RunOptions _options = new() { Policy = OutputPolicy.Silent };

    public DurableThroughputWorkload(CheckpointCommitMode mode)
    {
        _store = new SessionStore(_scratch.File("durable.db"));
        _engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false, Checkpoints = _store.Checkpoints, CheckpointCommit = mode });
    }

    /// <summary>Submits <paramref name="runs"/> durable runs and waits until all are done and every checkpoint is committed.</summary>
    /// <returns>Runs per second.</returns>
    public async Task<double> RunAsync(int runs)
    {
        var completions = new Task[runs];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < runs; i++)
        {
            completions[i] = (await _engine.SubmitAsync(_graph, new PingStart(i), _options)).Completion;
        }

        await Task.WhenAll(completions);
        await _store.Checkpoints.FlushAsync();
        return runs / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync();
        await _store.DisposeAsync();
        _scratch.Dispose();
    }
}

/// <summary>Runs parked at a gate that an engine leaves behind and another resumes (<c>durable.resume</c>).</summary>
internal static class DurableWorkload
{
    /// <summary>
    /// Submits <paramref name="runs"/> durable runs that park at a gate and times until all wait there; then shuts the
    /// engine down (they stay resumable), resumes them on a new engine and times until all wait at their gates again.
    /// </summary>
    /// <returns>Seconds to resume them, and seconds to submit them fresh.</returns>
    public static async Task<(double Resume, double Fresh)> ResumeAsync(int runs)
    {
        using var scratch = new ScratchDirectory();
        var graph = Graph.Create<Parked>(new GraphOptions { MaxRunsInFlight = ThroughputWorkload.InFlight, MaxDegreeOfParallelism = GraphOptions.Unbounded, Durable = true });
        double fresh;
        var store = new SessionStore(scratch.File("resume.db"));
        await using (store)
        {
            var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false, Checkpoints = store.Checkpoints });
            await using (engine)
            {
                var options = new RunOptions { Policy = OutputPolicy.Silent };
                var started = Stopwatch.GetTimestamp();
                var parked = new Task[runs];
                for (var i = 0; i < runs; i++)
                {
                    parked[i] = (await engine.SubmitAsync(graph, new Parked(i), options)).WaitForGatesAsync();
                }

                await Task.WhenAll(parked);
                await store.Checkpoints.FlushAsync();
                fresh = Stopwatch.GetElapsedTime(started).TotalSeconds;
            }
        }

        var again = new SessionStore(scratch.File("resume.db"));
        await using (again)
        {
            var engine = new GraphEngine(new GraphEngineOptions { HistoryCapacity = 0, TrackMemory = false, Checkpoints = again.Checkpoints });
            await using (engine)
            {
                var started = Stopwatch.GetTimestamp();
                var result = await engine.ResumeAsync(graph);
                await Task.WhenAll(result.Resumed.Select(r => r.WaitForGatesAsync()));
                await again.Checkpoints.FlushAsync();
                var resume = Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (result.Resumed.Count != runs)
                {
                    throw new InvalidOperationException($"Resumed {result.Resumed.Count} runs, expected {runs}.");
                }

                return (resume, fresh);
            }
        }
    }
}

/// <summary>A run that goes straight to a gate and waits there.</summary>
public sealed record Parked(int Id) : INode<Waiting>
{
    public ValueTask<Waiting> RunAsync(NodeContext context) => ValueTask.FromResult(new Waiting(Id));
}

public sealed record Waiting(int Id) : INode<PingEnd>
{
    [Gate("Go on?")]
    public bool Go { get; set; }

    public ValueTask<PingEnd> RunAsync(NodeContext context) => ValueTask.FromResult(new PingEnd(Id));
}

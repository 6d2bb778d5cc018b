using System.Collections.Concurrent;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Tests.Events;
using Dataflow.Tests.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Engine;

/// <summary>The races around run ownership, through a real engine: each run ends in exactly one final state.</summary>
[TestFixture]
public sealed class EngineRaceTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Every run has exactly one final event, last in its stream, and it agrees with the run's state.</summary>
    private static void AssertOneFinalEventEach(IReadOnlyList<GraphRun> runs, IReadOnlyList<GraphEvent> events)
    {
        var byRun = events.GroupBy(e => e.RunId).ToDictionary(g => g.Key, g => g.OrderBy(e => e.Sequence).ToList());
        foreach (var run in runs)
        {
            Assert.That(run.State.IsFinal(), Is.True, $"{run.Id} is {run.State}");
            Assert.That(run.EndedAt, Is.Not.Null);
            Assert.That(run.Completion.IsCompleted, Is.True);
            var stream = byRun[run.Id];
            Assert.That(stream.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(1, stream.Count).Select(i => (long)i)), $"{run.Id}: events in order, none twice");
            var finals = stream.Where(e => e.Kind is EventKind.Complete or EventKind.Fail or EventKind.Cancel).ToList();
            Assert.That(finals, Has.Count.EqualTo(1), $"{run.Id}: one final event");
            Assert.That(finals[0], Is.SameAs(stream[^1]), $"{run.Id}: the final event is the last");
            Assert.That(finals[0].Kind, Is.EqualTo(run.State switch { RunState.Done => EventKind.Complete, RunState.Failed => EventKind.Fail, _ => EventKind.Cancel }));
        }
    }

    [Test]
    public async Task CancelAgainstHandOff_EveryRunEndsOnce_AndEverySlotComesBack()
    {
        var sink = new CollectingSink();
        var graph = Graph.Create<Counter>(new GraphOptions { MaxDegreeOfParallelism = 1, MaxRunsInFlight = 64 });
        var runs = new List<GraphRun>();
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(sink);
            var verbose = new RunOptions { Policy = OutputPolicy.Verbose };
            var cancellers = new List<Task>();
            for (var i = 0; i < 400; i++)
            {
                var run = await engine.SubmitAsync(graph, new Counter(15), verbose);
                runs.Add(run);
                var spins = i % 7 * 50;
                cancellers.Add(Task.Run(() =>
                {
                    Thread.SpinWait(spins);
                    run.Cancel();
                }));
            }

            await Task.WhenAll(cancellers).WaitAsync(Guard);
            await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);

            // Every admission slot came back: the full bound can be taken again without waiting.
            var again = Enumerable.Range(0, 64).Select(_ => engine.Submit(graph, new Counter(1))).ToList();
            await Task.WhenAll(again.Select(r => r.Completion)).WaitAsync(Guard);
            Assert.That(again.Select(r => r.State), Is.All.EqualTo(RunState.Done));
        }

        AssertOneFinalEventEach(runs, sink.Events);
        Assert.That(runs.Select(r => r.State), Has.Some.EqualTo(RunState.Cancelled));
    }

    [Test]
    public async Task CancelAgainstGateResolution_EveryRunEndsOnce_NoGateIsLeft()
    {
        var sink = new CollectingSink();
        var runs = new List<GraphRun>();
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(sink);
            var graph = Graph.Create<Deploy>();
            for (var i = 0; i < 200; i++)
            {
                runs.Add(engine.Submit(graph, new Deploy($"svc{i}")));
            }

            var gates = await Task.WhenAll(runs.Select(r => r.WaitForGatesAsync())).WaitAsync(Guard);
            using var start = new Barrier(2);
            var races = runs.Select((run, i) => Task.WhenAll(
                Task.Run(() =>
                {
                    foreach (var gate in gates[i])
                    {
                        engine.ResolveGate(gate.Id, gate.Type == typeof(bool) ? true : "ops");
                    }
                }),
                Task.Run(() => run.Cancel()))).ToList();
            await Task.WhenAll(races).WaitAsync(Guard);
            await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
            Assert.That(engine.PendingGateCount, Is.Zero);
        }

        AssertOneFinalEventEach(runs, sink.Events);
        Assert.That(runs.Select(r => r.State), Is.All.AnyOf(RunState.Done, RunState.Cancelled));
        Assert.That(runs.Where(r => r.State == RunState.Done).Select(r => r.GetResult<Deployed>().Approved), Is.All.True);
    }

    [Test]
    public async Task DisposeAgainstQueuedSubmit_WithoutCancelling_WaitingSubmitsAreRefused_AndNeverRun()
    {
        var engine = new GraphEngine(new GraphEngineOptions { CancelRunsOnDispose = false });
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 1 });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = engine.Submit(graph, new Gated(entered, release));
        await entered.Task.WaitAsync(Guard);

        var queuedEntered = new ConcurrentBag<TaskCompletionSource>();
        var queued = Enumerable.Range(0, 10).Select(_ =>
        {
            var e = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            queuedEntered.Add(e);
            var done = new TaskCompletionSource();
            done.SetResult();
            return engine.SubmitAsync(graph, new Gated(e, done)).AsTask();
        }).ToList();
        Assert.That(queued.Select(q => q.IsCompleted), Is.All.False, "the bound is taken: every submit waits");

        var dispose = engine.DisposeAsync().AsTask();
        foreach (var submit in queued)
        {
            var refused = Assert.ThrowsAsync<ObjectDisposedException>(() => submit.WaitAsync(Guard));
            Assert.That(refused!.Message, Does.Contain("disposed while the run waited for admission"));
        }

        Assert.That(dispose.IsCompleted, Is.False, "the admitted run is let finish");
        release.SetResult();
        await dispose.WaitAsync(Guard);
        Assert.That(blocker.State, Is.EqualTo(RunState.Done));
        Assert.That(queuedEntered.Select(e => e.Task.IsCompleted), Is.All.False, "no refused run ever executed a node");
    }
}

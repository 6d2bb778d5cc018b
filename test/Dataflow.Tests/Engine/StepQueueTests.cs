using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Tests.Events;
using NUnit.Framework;

namespace Dataflow.Tests.Engine;

/// <summary>Counts the nodes executing at once, and the most seen.</summary>
public sealed class ConcurrencyProbe
{
    private int _now;
    private int _most;

    public int Most => Volatile.Read(ref _most);

    public void Enter()
    {
        var now = Interlocked.Increment(ref _now);
        var most = Volatile.Read(ref _most);
        while (most < now && Interlocked.CompareExchange(ref _most, now, most) is var seen && seen != most)
        {
            most = seen;
        }
    }

    public void Exit() => Interlocked.Decrement(ref _now);
}

/// <summary>Completes synchronously, so that its run moves on to the next step in the same flow when it can.</summary>
public sealed record QueueFirst(int N, ConcurrencyProbe Probe) : INode<QueueMiddle>
{
    public ValueTask<QueueMiddle> RunAsync(NodeContext context) => ValueTask.FromResult(new QueueMiddle(N, Probe));
}

/// <summary>Holds its slot across a wait (every third one synchronously), counted by its probe.</summary>
public sealed record QueueMiddle(int N, ConcurrencyProbe Probe) : INode<QueueEnd>
{
    public async ValueTask<QueueEnd> RunAsync(NodeContext context)
    {
        Probe.Enter();
        try
        {
            if (N % 3 != 0)
            {
                await Task.Yield();
            }

            return new QueueEnd(N);
        }
        finally
        {
            Probe.Exit();
        }
    }
}

public sealed record QueueEnd(int N) : INode;

/// <summary>
/// Steps take runs from their queues and run a next step inline when it has a free slot; runs are known by number.
/// </summary>
[TestFixture]
public sealed class StepQueueTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [TestCase(1)]
    [TestCase(3)]
    public async Task InlineHandOff_NeverRunsMoreNodesOfAStepThanItsParallelism(int parallelism)
    {
        var probe = new ConcurrencyProbe();
        var options = new GraphOptions { MaxRunsInFlight = 256 };
        options.Node<QueueMiddle>().MaxDegreeOfParallelism = parallelism;
        var graph = Graph.Create<QueueFirst>(options);
        await using var engine = new GraphEngine();
        var runs = new List<GraphRun>();
        for (var i = 0; i < 600; i++)
        {
            runs.Add(await engine.SubmitAsync(graph, new QueueFirst(i, probe)));
        }

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
        Assert.That(runs.Select(r => r.GetResult<QueueEnd>().N), Is.EquivalentTo(Enumerable.Range(0, 600)));
        Assert.That(probe.Most, Is.InRange(1, parallelism));
    }

    [Test]
    public async Task DisposeWithoutCancelling_RightAfterManyUnboundedRuns_FinishesEveryRunOnce()
    {
        var sink = new CollectingSink();
        var runs = new List<GraphRun>();
        var probe = new ConcurrencyProbe();
        await using (var engine = new GraphEngine(new GraphEngineOptions { CancelRunsOnDispose = false }))
        {
            engine.Events.AddSink(sink, new SinkOptions { Policy = OutputPolicy.Normal });
            var graph = Graph.Create<QueueFirst>(new GraphOptions { MaxDegreeOfParallelism = GraphOptions.Unbounded, MaxRunsInFlight = 1000 });
            for (var i = 0; i < 1000; i++)
            {
                runs.Add(engine.Submit(graph, new QueueFirst(i, probe)));
            }
        }

        Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
        Assert.That(sink.Events.Where(e => e.Kind == EventKind.Complete).Select(e => e.RunId), Is.EquivalentTo(runs.Select(r => r.Id)));
    }

    [Test]
    public async Task Get_FindsARunByTheIdItReads_AndNothingByAnIdWrittenOtherwise()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<QueueFirst>();
        var run = engine.Submit(graph, new QueueFirst(7, new ConcurrencyProbe()));
        await run.Completion.WaitAsync(Guard);

        Assert.That(run.Id, Is.EqualTo("g1"));
        Assert.That(engine.Get("g1"), Is.SameAs(run));
        foreach (var other in new[] { "g01", "g+1", "G1", "g", "g1 ", "x1", "g2", "g99999999999999999999" })
        {
            Assert.That(engine.Get(other), Is.Null, other);
        }
    }
}

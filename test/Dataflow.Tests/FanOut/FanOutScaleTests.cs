using Dataflow.Engine;
using Dataflow.Graphs;
using NUnit.Framework;

namespace Dataflow.Tests.FanOut;

/// <summary>
/// Many parents with many children under the tightest bounds: every run ends Done, nothing deadlocks. The guard only
/// catches a hang; these finish in seconds.
/// </summary>
[TestFixture]
public sealed class FanOutScaleTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);

    [Test]
    public async Task AThousandParents_AHundredChildrenEach_ParallelismOne_AllDone()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Order>(new GraphOptions { MaxDegreeOfParallelism = 1 });
        var probe = new FanOutProbe();
        var runs = await SubmitAllAsync(engine, graph, 1000, _ => new Order(100, probe, MaxInFlight: 2));

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
            Assert.That(runs.Select(r => r.GetResult<Invoiced>().Total.Cents), Is.All.EqualTo(Enumerable.Range(0, 100).Sum(i => i * 10)));
            Assert.That(probe.Started, Is.EqualTo(100_000));
            Assert.That(engine.Active(), Is.Empty);
        }
    }

    [Test]
    public async Task Nested_OneAdmissionSlot_ParallelismOne_AllDone()
    {
        // The worst shape: a single admission slot, one node at a time, parents whose children fan out again.
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Batch>(new GraphOptions { MaxDegreeOfParallelism = 1, MaxRunsInFlight = 1 });
        var probe = new FanOutProbe();
        var runs = await SubmitAllAsync(engine, graph, 100, _ => new Batch(10, 10, probe));

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
            Assert.That(runs.Select(r => r.GetResult<BatchTotal>()), Is.All.EqualTo(new BatchTotal(10, 10 * Enumerable.Range(0, 10).Sum(i => i * 10))));
            Assert.That(probe.Started, Is.EqualTo(100 * 10 * 10));
        }
    }

    [Test]
    public async Task Nested_AThousandParents_AllDone()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Batch>(new GraphOptions { MaxDegreeOfParallelism = 1 });
        var probe = new FanOutProbe();
        var runs = await SubmitAllAsync(engine, graph, 1000, _ => new Batch(10, 10, probe));

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
        Assert.That(probe.Started, Is.EqualTo(100_000));
    }

    [Test]
    public async Task InsideACycle_AThousandParents_AllDone()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Round>(new GraphOptions { MaxDegreeOfParallelism = 1, MaxRunsInFlight = 4 });
        var probe = new FanOutProbe();
        var runs = await SubmitAllAsync(engine, graph, 1000, _ => new Round(0, 4, 25, probe));

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
            Assert.That(runs.Select(r => r.GetResult<RoundsDone>()), Is.All.EqualTo(new RoundsDone(4, 4 * Enumerable.Range(0, 25).Sum(i => i * 10))));
            Assert.That(probe.Started, Is.EqualTo(1000 * 4 * 25));

            // Each round's children are numbered on from the last round's.
            var children = runs[0].Children;
            Assert.That(children.Select(c => c.FirstNumber), Is.EqualTo(new[] { 1, 26, 51, 76 }));
        }
    }

    private static async Task<List<GraphRun>> SubmitAllAsync(GraphEngine engine, Graph graph, int count, Func<int, INode> start)
    {
        var runs = new List<GraphRun>(count);
        for (var i = 0; i < count; i++)
        {
            runs.Add(await engine.SubmitAsync(graph, start(i)).AsTask().WaitAsync(Guard));
        }

        return runs;
    }
}

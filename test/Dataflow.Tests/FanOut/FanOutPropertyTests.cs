using CsCheck;
using Dataflow.Engine;
using Dataflow.Graphs;
using NUnit.Framework;

namespace Dataflow.Tests.FanOut;

/// <summary>Whatever the item count, bound, policy and failing items: nothing is lost, and the join sees each item once, in order.</summary>
[TestFixture]
public sealed class FanOutPropertyTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task AnyShape_EveryItemIsAccountedFor_InItemOrder()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Order>(new GraphOptions { MaxDegreeOfParallelism = 2, MaxRunsInFlight = 3 });
        var shapes = Gen.Select(Gen.Int[0, 40], Gen.Int[1, 8], Gen.Enum<FanOutPolicy>(), Gen.Int[0, 40].HashSet[0, 5]);
        await shapes.SampleAsync(
            async shape =>
            {
                var (lines, bound, policy, failing) = shape;
                var probe = new FanOutProbe();
                var run = await engine.SubmitAsync(graph, new Order(lines, probe, bound, policy, i => failing.Contains(i) ? LineMode.Throw : LineMode.Succeed));
                await run.Completion.WaitAsync(Guard);

                var failed = Enumerable.Range(0, lines).Where(failing.Contains).ToArray();
                var group = run.Children.Single();
                Assert.That(probe.PeakInFlight, Is.AtMost(bound));
                Assert.That(group.Running, Is.Zero);
                if (policy == FanOutPolicy.Settle || failed.Length == 0)
                {
                    var total = run.GetResult<Invoiced>().Total;
                    Assert.That(total.Failed, Is.EqualTo(failed));
                    Assert.That(total.Indexes, Is.EqualTo(Enumerable.Range(0, lines).Select(i => failing.Contains(i) ? -1 : i)));
                    Assert.That((group.Started, group.Done, group.Failed), Is.EqualTo((lines, lines - failed.Length, failed.Length)));
                }
                else
                {
                    Assert.That(run.State, Is.EqualTo(RunState.Failed));
                    Assert.That(run.Exception, Is.TypeOf<ChildRunFailedException>());
                    Assert.That(probe.Joins, Is.Zero);
                    Assert.That(group.Failed, Is.AtLeast(1));
                    Assert.That(group.Done + group.Failed + group.Cancelled, Is.EqualTo(group.Started));
                }
            },
            iter: 150,
            threads: 1,
            print: s => $"lines={s.Item1} bound={s.Item2} {s.Item3} failing=[{string.Join(',', s.Item4.Order())}]");
    }
}

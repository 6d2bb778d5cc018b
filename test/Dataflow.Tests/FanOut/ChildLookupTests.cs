using Dataflow.Engine;
using Dataflow.Graphs;
using NUnit.Framework;

namespace Dataflow.Tests.FanOut;

/// <summary>Children in flight are found by their ids (made only when read), and never by a run id of the engine's own form.</summary>
[TestFixture]
public sealed class ChildLookupTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task AChildInFlight_IsFoundByItsId_AndNoRootIdFindsIt()
    {
        await using var engine = new GraphEngine();
        var hold = new HeldChildren(3);
        var run = await engine.SubmitAsync(Graph.Create<Holder>(), new Holder(hold));
        await hold.AllEntered.Task.WaitAsync(Guard);

        var children = Enumerable.Range(1, 3).Select(n => engine.Get($"{run.Id}/{n}")).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(children.Select(c => c?.Id), Is.EqualTo(new[] { $"{run.Id}/1", $"{run.Id}/2", $"{run.Id}/3" }));
            Assert.That(children.Select(c => c?.ParentId), Is.All.EqualTo(run.Id));
            Assert.That(children.Select(c => c?.State), Is.All.EqualTo(RunState.Running));
            Assert.That(engine.Get($"{run.Id}/4"), Is.Null, "there is no fourth child");
            Assert.That(engine.Get($"{run.Id}/01"), Is.Null, "an id with a leading zero is not the first child's");
            Assert.That(engine.Get(run.Id + string.Concat(Enumerable.Repeat("/1", 50_000))), Is.Null, "a hostile id of 50,000 levels is looked up without recursing that deep");
            Assert.That(engine.Get("g2"), Is.Null, "children take no number of the engine's own run ids");
            Assert.That(engine.Active().Select(r => r.Id), Is.EquivalentTo(new[] { run.Id }.Concat(children.Select(c => c!.Id))));
        }

        hold.Release.TrySetResult();
        await run.Completion.WaitAsync(Guard);
        Assert.That(run.State, Is.EqualTo(RunState.Done));
        var next = await engine.SubmitAsync(Graph.Create<Holder>(), new Holder(new HeldChildren(0)));
        Assert.That(next.Id, Is.EqualTo("g2"), "a fan-out's children do not use up the engine's run numbers");
        await next.Completion.WaitAsync(Guard);
    }

    public sealed class HeldChildren(int count)
    {
        private int _entered;

        public int Count => count;

        public TaskCompletionSource AllEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Entered()
        {
            if (Interlocked.Increment(ref _entered) == count)
            {
                AllEntered.TrySetResult();
            }
        }
    }

    public sealed record Holder(HeldChildren Hold) : INode<FanOut<HeldChild, HeldDone, HolderDone>>
    {
        public ValueTask<FanOut<HeldChild, HeldDone, HolderDone>> RunAsync(NodeContext context)
            => ValueTask.FromResult(new FanOut<HeldChild, HeldDone, HolderDone>(
                Enumerable.Range(0, Hold.Count).Select(_ => new HeldChild(Hold)),
                results => new HolderDone(results.Count)));
    }

    public sealed record HeldChild(HeldChildren Hold) : INode<HeldDone>
    {
        public async ValueTask<HeldDone> RunAsync(NodeContext context)
        {
            Hold.Entered();
            await Hold.Release.Task.WaitAsync(context.CancellationToken).ConfigureAwait(false);
            return new HeldDone();
        }
    }

    public sealed record HeldDone : INode;

    public sealed record HolderDone(int Count) : INode;
}

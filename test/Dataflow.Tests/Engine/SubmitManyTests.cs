using System.Runtime.CompilerServices;
using CsCheck;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Tests.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Engine;

/// <summary>
/// Submitting a batch: start nodes are read only as fast as the graph admits runs, in order, and a bad start node,
/// a failing source, a cancellation or a disposal stops the batch without losing or leaking anything started.
/// </summary>
[TestFixture]
public sealed class SubmitManyTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task TheSource_IsReadAtThePaceOfAdmission_AndEveryRunStartsInOrder()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 2 });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = Enumerable.Range(0, 6).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var source = new CountingSource(entered.Select(e => (INode)new Gated(e, release)).ToList());

        var runs = new List<GraphRun>();
        var submitting = Task.Run(async () =>
        {
            await foreach (var run in engine.SubmitManyAsync(graph, source))
            {
                lock (runs)
                {
                    runs.Add(run);
                }
            }
        });

        // Two runs hold both slots at their gate; the batch waits for room before it reads a third start node.
        await Task.WhenAll(entered[0].Task, entered[1].Task).WaitAsync(Guard);
        Assert.That(source.Read, Is.EqualTo(2), "no start node is read ahead of the room to start it");
        release.TrySetResult();
        await submitting.WaitAsync(Guard);
        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(source.Read, Is.EqualTo(6));
            Assert.That(runs.Select(r => r.Trace[0]), Is.EqualTo(source.Nodes), "runs come back in the order of their start nodes");
            Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
            Assert.That(engine.Submit(graph, new Gated(new TaskCompletionSource(), release)), Is.Not.Null, "every slot came back");
        }
    }

    [Test]
    public async Task ASourceThatFails_StopsTheBatch_TheRunsStartedBeforeItStand()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Submission>(new GraphOptions { MaxRunsInFlight = 1 });
        var runs = new List<GraphRun>();

        var failure = Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var run in engine.SubmitManyAsync(graph, FailingAfter(3)))
            {
                runs.Add(run);
            }
        });

        Assert.That(failure!.Message, Is.EqualTo("the input file went away"));
        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
        Assert.That(runs.Select(r => ((Submission)r.Trace[0]).Score), Is.EqualTo(new[] { 0, 1, 2 }));
        var after = await engine.SubmitAsync(graph, new Submission(9)).AsTask().WaitAsync(Guard);
        Assert.That(await after.Completion.WaitAsync(Guard).ContinueWith(_ => after.State), Is.EqualTo(RunState.Done), "the slot taken for the failed read came back");
    }

    [Test]
    public async Task CancellingTheBatch_WhileItWaitsForRoom_StopsIt_AndCancelsTheRunsItStarted()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 1 });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource();
        using var cancel = new CancellationTokenSource();
        var runs = new List<GraphRun>();
        var nodes = new INode[] { new Gated(entered, never), new Gated(new TaskCompletionSource(), never) };

        var submitting = Task.Run(async () =>
        {
            await foreach (var run in engine.SubmitManyAsync(graph, nodes, cancellationToken: cancel.Token))
            {
                runs.Add(run);
            }
        });
        await entered.Task.WaitAsync(Guard);
        await cancel.CancelAsync();

        Assert.That(async () => await submitting.WaitAsync(Guard), Throws.InstanceOf<OperationCanceledException>());
        await runs.Single().Completion.WaitAsync(Guard);
        Assert.That(runs.Single().State, Is.EqualTo(RunState.Cancelled));
    }

    [Test]
    public async Task DisposingTheEngine_WhileTheBatchWaitsForRoom_RefusesTheRest()
    {
        var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 1 });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource();
        var nodes = new INode[] { new Gated(entered, never), new Gated(new TaskCompletionSource(), never) };
        var submitting = Task.Run(async () =>
        {
            await foreach (var _ in engine.SubmitManyAsync(graph, nodes))
            {
            }
        });
        await entered.Task.WaitAsync(Guard);

        await engine.DisposeAsync().AsTask().WaitAsync(Guard);

        Assert.That(async () => await submitting.WaitAsync(Guard), Throws.TypeOf<ObjectDisposedException>());
    }

    [Test]
    public async Task InvalidOptions_AreRefusedAtTheCall_BeforeAnythingIsRead()
    {
        await using var engine = new GraphEngine();
        var source = new CountingSource([new Submission(1)]);

        var error = Assert.Throws<ArgumentException>(() => engine.SubmitManyAsync(Graph.Create<Submission>(), source, new RunOptions { MaxIterations = -1 }));

        Assert.That(error!.Message, Does.Contain("MaxIterations"));
        Assert.That(source.Read, Is.Zero);
        await Task.CompletedTask;
    }

    [Test]
    public async Task AnyBatch_StartsEveryNodeBeforeTheFirstBadOne_AndNamesItsPosition()
    {
        // Hostile batches: any mix of good start nodes, nulls and nodes of another graph, on any bound. CsCheck samples
        // on several threads at once, so each sample has an engine of its own.
        var kinds = Gen.Int[0, 9].Array[0, 30];
        await Gen.Select(kinds, Gen.Int[1, 4]).SampleAsync(
            async shape =>
            {
                var (picks, bound) = shape;
                await using var engine = new GraphEngine();
                var graph = Graph.Create<Submission>(new GraphOptions { MaxRunsInFlight = bound });
                var nodes = picks.Select((k, i) => k switch { 0 => null!, 1 => new Deploy("elsewhere"), _ => (INode)new Submission(i) }).ToList();
                var firstBad = nodes.FindIndex(n => n is not Submission);
                var runs = new List<GraphRun>();
                Exception? error = null;
                try
                {
                    await foreach (var run in engine.SubmitManyAsync(graph, nodes))
                    {
                        runs.Add(run);
                    }
                }
                catch (ArgumentException e)
                {
                    error = e;
                }

                await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(Guard);
                var good = firstBad < 0 ? nodes.Count : firstBad;
                Assert.That(runs.Select(r => r.Trace[0]), Is.EqualTo(nodes.Take(good)));
                Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
                Assert.That(error?.Message, firstBad < 0 ? Is.Null : Does.StartWith($"The start node at position {firstBad} is "));
                Assert.That(engine.Active(), Is.Empty, "no slot or run is left behind");
            },
            iter: 60);
    }

    private static async IAsyncEnumerable<INode> FailingAfter(int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return new Submission(i);
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new IOException("the input file went away");
    }

    /// <summary>An async source that counts how many start nodes were taken from it.</summary>
    private sealed class CountingSource(IReadOnlyList<INode> nodes) : IAsyncEnumerable<INode>
    {
        private int _read;

        public IReadOnlyList<INode> Nodes => nodes;

        public int Read => Volatile.Read(ref _read);

        public async IAsyncEnumerator<INode> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            foreach (var node in nodes)
            {
                await Task.Yield();
                Interlocked.Increment(ref _read);
                yield return node;
            }
        }
    }
}

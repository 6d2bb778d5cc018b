using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using CsCheck;
using Dataflow.Engine;
using Dataflow.Graphs;
using NUnit.Framework;

namespace Dataflow.Tests.Engine;

/// <summary>
/// Running a batch to its end (<see cref="GraphEngine.RunBatchAsync(Graph, IEnumerable{INode}, BatchOptions?, CancellationToken)"/>):
/// every run counted by how it ended and told to the callback once; the batch's task ends only after its last run,
/// whatever stopped it early; nothing started is dropped or left running.
/// </summary>
[TestFixture]
public sealed class RunBatchTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task ABatch_CountsEveryRunByHowItEnded_AndTellsEachRunOnceAsItEnds()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<BatchItem>(new GraphOptions { MaxRunsInFlight = 16 });
        var ended = new ConcurrentDictionary<string, RunState>();
        var toldTwice = 0;
        var submitted = new List<string>();
        var options = new BatchOptions
        {
            RunSubmitted = run => submitted.Add(run.Id),
            RunEnded = run =>
            {
                if (!ended.TryAdd(run.Id, run.State))
                {
                    Interlocked.Increment(ref toldTwice);
                }
            },
        };

        var result = await engine.RunBatchAsync(graph, Enumerable.Range(0, 300).Select(i => (INode)new BatchItem(i)), options).WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Submitted, Is.EqualTo(300));
            Assert.That(result.Failed, Is.EqualTo(Enumerable.Range(0, 300).Count(BatchItem.Fails)));
            Assert.That(result.Done, Is.EqualTo(300 - result.Failed));
            Assert.That(result.Cancelled, Is.Zero);
            Assert.That(result.ToString(), Is.EqualTo($"300 runs: {result.Done} done, {result.Failed} failed, 0 cancelled"));
            Assert.That(submitted, Has.Count.EqualTo(300).And.Unique);
            Assert.That(ended.Keys, Is.EquivalentTo(submitted), "every run started is told as it ends, before the batch's task completes");
            Assert.That(toldTwice, Is.Zero);
            Assert.That(ended.Values.Count(s => s == RunState.Failed), Is.EqualTo(result.Failed), "the callback sees each run's final state");
            Assert.That(engine.Active(), Is.Empty);
        }
    }

    [Test]
    public async Task TheBatchsTask_CompletesOnlyOnceItsLastRunHasEnded()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 4 });
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = Enumerable.Range(0, 3).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();

        var batch = engine.RunBatchAsync(graph, entered.Select(e => (INode)new Gated(e, release)));
        await Task.WhenAll(entered.Select(e => e.Task)).WaitAsync(Guard);

        // Every start node is read and every run is in flight, held at its release: the batch is not over.
        Assert.That(batch.IsCompleted, Is.False);
        release.TrySetResult();
        var result = await batch.WaitAsync(Guard);
        Assert.That((result.Submitted, result.Done), Is.EqualTo((3L, 3L)));
    }

    [Test]
    public async Task Cancelling_CancelsTheRunsStarted_AndThrowsOnlyOnceTheyHaveEnded()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 1 });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource();
        using var cancel = new CancellationTokenSource();
        var ended = new ConcurrentQueue<RunState>();
        var nodes = new INode[] { new Gated(entered, never), new Gated(new TaskCompletionSource(), never) };

        var batch = engine.RunBatchAsync(graph, nodes, new BatchOptions { RunEnded = run => ended.Enqueue(run.State) }, cancel.Token);
        await entered.Task.WaitAsync(Guard);
        await cancel.CancelAsync();

        Assert.That(async () => await batch.WaitAsync(Guard), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(ended, Is.EqualTo(new[] { RunState.Cancelled }), "the one run started was cancelled and had ended before the batch threw");
        Assert.That(engine.Active(), Is.Empty);
    }

    [Test]
    public async Task ASourceThatFails_IsThrown_OnceTheRunsStartedBeforeItHaveEnded()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<BatchItem>(new GraphOptions { MaxRunsInFlight = 2 });
        var ended = new ConcurrentQueue<int>();

        var failure = Assert.ThrowsAsync<IOException>(async () => await engine.RunBatchAsync(graph, FailingAfter(5), new BatchOptions { RunEnded = run => ended.Enqueue(((BatchItem)run.Trace[0]).N) }).WaitAsync(Guard));

        Assert.That(failure!.Message, Is.EqualTo("the input file went away"));
        Assert.That(ended.Order(), Is.EqualTo(new[] { 1, 8, 15, 22, 29 }), "every run started before the failure ended before it was thrown");
        Assert.That(engine.Active(), Is.Empty);
    }

    [Test]
    public async Task AnExceptionFromRunEnded_DoesNotStopTheBatch_AndIsThrownAtItsEnd()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<BatchItem>();
        var told = 0;

        var failure = Assert.ThrowsAsync<InvalidOperationException>(async () => await engine.RunBatchAsync(
            graph,
            Enumerable.Range(1, 20).Select(i => (INode)new BatchItem(i * 7 + 1)),
            new BatchOptions
            {
                RunEnded = run =>
                {
                    if (Interlocked.Increment(ref told) == 3)
                    {
                        throw new InvalidOperationException("the report file is full");
                    }
                },
            }).WaitAsync(Guard));

        Assert.That(failure!.Message, Is.EqualTo("the report file is full"));
        Assert.That(told, Is.EqualTo(20), "every run was still told, after the callback failed once");
        var after = await engine.RunBatchAsync(graph, [new BatchItem(1)]).WaitAsync(Guard);
        Assert.That(after.Done, Is.EqualTo(1), "the engine goes on");
    }

    [Test]
    public async Task AnExceptionFromRunSubmitted_StopsTheBatch_TheRunsStartedStillEnd()
    {
        await using var engine = new GraphEngine();
        var graph = Graph.Create<BatchItem>(new GraphOptions { MaxRunsInFlight = 4 });
        var ended = 0;
        var options = new BatchOptions
        {
            RunSubmitted = run =>
            {
                if (((BatchItem)run.Trace[0]).N == 3)
                {
                    throw new InvalidOperationException("the live view is gone");
                }
            },
            RunEnded = _ => Interlocked.Increment(ref ended),
        };

        var failure = Assert.ThrowsAsync<InvalidOperationException>(async () => await engine.RunBatchAsync(graph, Enumerable.Range(1, 100).Select(i => (INode)new BatchItem(i)), options).WaitAsync(Guard));

        Assert.That(failure!.Message, Is.EqualTo("the live view is gone"));
        Assert.That(ended, Is.EqualTo(3), "the three runs started ended; no fourth start node was read");
    }

    [Test]
    public async Task DisposingTheEngine_WhileTheBatchWaitsForRoom_ThrowsOnceTheRunStartedHasEnded()
    {
        var engine = new GraphEngine();
        var graph = Graph.Create<Gated>(new GraphOptions { MaxRunsInFlight = 1 });
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource();
        var ended = new ConcurrentQueue<RunState>();
        var batch = engine.RunBatchAsync(graph, [new Gated(entered, never), new Gated(new TaskCompletionSource(), never)], new BatchOptions { RunEnded = run => ended.Enqueue(run.State) });
        await entered.Task.WaitAsync(Guard);

        await engine.DisposeAsync().AsTask().WaitAsync(Guard);

        Assert.That(async () => await batch.WaitAsync(Guard), Throws.TypeOf<ObjectDisposedException>());
        Assert.That(ended, Is.EqualTo(new[] { RunState.Cancelled }));
    }

    [Test]
    public async Task InvalidOptions_AreRefusedAtTheCall_BeforeAnythingIsRead()
    {
        await using var engine = new GraphEngine();
        var read = 0;
        IEnumerable<INode> Source()
        {
            read++;
            yield return new BatchItem(1);
        }

        var error = Assert.Throws<ArgumentException>(() => _ = engine.RunBatchAsync(Graph.Create<BatchItem>(), Source(), new BatchOptions { Run = new RunOptions { MaxIterations = -1 } }));

        Assert.That(error!.Message, Does.Contain("MaxIterations"));
        Assert.That(read, Is.Zero);
        Assert.Throws<ArgumentNullException>(() => _ = engine.RunBatchAsync(Graph.Create<BatchItem>(), (IEnumerable<INode>)null!));
        await Task.CompletedTask;
    }

    [Test]
    public async Task AnyBatch_CountsEveryRunStartedBeforeTheFirstBadNode_AndNamesItsPosition()
    {
        // Hostile batches: any mix of good start nodes (some of which fail), nulls and nodes of another graph, on any
        // bound. CsCheck samples on several threads at once, so each sample has an engine of its own.
        await Gen.Select(Gen.Int[0, 12].Array[0, 40], Gen.Int[1, 4]).SampleAsync(
            async shape =>
            {
                var (picks, bound) = shape;
                await using var engine = new GraphEngine();
                var graph = Graph.Create<BatchItem>(new GraphOptions { MaxRunsInFlight = bound });
                var nodes = picks.Select((k, i) => k switch { 0 => null!, 1 => new Submission(i), _ => (INode)new BatchItem(k * 100 + i) }).ToList();
                var firstBad = nodes.FindIndex(n => n is not BatchItem);
                var good = nodes.Take(firstBad < 0 ? nodes.Count : firstBad).Cast<BatchItem>().ToList();
                var ended = 0;
                BatchResult? result = null;
                ArgumentException? error = null;
                try
                {
                    result = await engine.RunBatchAsync(graph, nodes, new BatchOptions { RunEnded = _ => Interlocked.Increment(ref ended) }).WaitAsync(Guard);
                }
                catch (ArgumentException e)
                {
                    error = e;
                }

                Assert.That(ended, Is.EqualTo(good.Count), "every run started before the bad node ended before the batch's task did");
                Assert.That(error?.Message, firstBad < 0 ? Is.Null : Does.StartWith($"The start node at position {firstBad} is "));
                if (result is not null)
                {
                    Assert.That((result.Submitted, result.Done, result.Failed), Is.EqualTo(((long)good.Count, (long)good.Count(n => !BatchItem.Fails(n.N)), (long)good.Count(n => BatchItem.Fails(n.N)))));
                }

                Assert.That(engine.Active(), Is.Empty, "no slot or run is left behind");
            },
            iter: 60);
    }

    private static async IAsyncEnumerable<INode> FailingAfter(int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return new BatchItem(i * 7 + 1);
        }

        cancellationToken.ThrowIfCancellationRequested();
        throw new IOException("the input file went away");
    }
}

/// <summary>One item of a batch; every seventh fails.</summary>
public sealed record BatchItem(int N) : INode<End>
{
    public static bool Fails(int n) => n % 7 == 0;

    public ValueTask<End> RunAsync(NodeContext context)
        => Fails(N) ? throw new InvalidOperationException($"item {N} is bad") : ValueTask.FromResult(new End(context.RunId));
}

using System.Collections.Concurrent;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;

namespace Dataflow.Sqlite.Tests;

/// <summary>
/// A checkpoint store that stops writing in the middle of a durable run: the run waiting for its transition's commit
/// fails with the store's own error, naming the file, and its final checkpoint's failure is reported, not thrown.
/// </summary>
public sealed class DurableStoreFailureTests : StoreTestBase
{
    [Test]
    public async Task CheckpointsThatStopBeingWritten_FailTheRunWaitingForItsCommit_NamingTheStore()
    {
        var store = Open();
        var tag = Guid.NewGuid().ToString("N");
        var release = Hold.Gate(tag);
        string runId;
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints }))
        {
            engine.Events.AddSink(new StoreEventSink(store));
            var run = await engine.SubmitAsync(Graph.Create<Hold>(new GraphOptions { Durable = true }), new Hold(tag), new RunOptions { Policy = OutputPolicy.Normal });
            runId = run.Id;
            await Hold.Entered(tag).WaitAsync(Guard);

            // The start checkpoint is committed; the next one cannot be: its table is gone.
            await store.Checkpoints.FlushAsync().WaitAsync(Guard);
            Scalar("DROP TABLE checkpoint_log; SELECT 0");
            release.SetResult();

            await run.Completion.WaitAsync(Guard);
            using (Assert.EnterMultipleScope())
            {
                Assert.That(run.State, Is.EqualTo(RunState.Failed));
                Assert.That(run.Exception, Is.TypeOf<StoreException>());
                Assert.That(run.Exception!.Message, Does.StartWith($"The checkpoints of session store '{DbPath}' stopped being written after an error:").And.Contain("checkpoint_log"));
                Assert.That(run.Result, Is.Null, "the node after the failed checkpoint never ran");
            }
        }

        await store.FlushAsync().WaitAsync(Guard);
        var contents = store.SessionEntries().Select(e => e.Content).ToList();
        Assert.That(contents, Has.Some.StartsWith($"{runId} could not record its final checkpoint: StoreException: The checkpoints of session store '{DbPath}'"));
    }

    public sealed record Hold(string Tag) : INode<Moved>
    {
        private static readonly ConcurrentDictionary<string, (TaskCompletionSource Entered, TaskCompletionSource Release)> Signals = new();

        public static TaskCompletionSource Gate(string tag) => Signals.GetOrAdd(tag, _ => (NewSignal(), NewSignal())).Release;

        public static Task Entered(string tag) => Signals[tag].Entered.Task;

        public async ValueTask<Moved> RunAsync(NodeContext context)
        {
            var (entered, release) = Signals[Tag];
            entered.TrySetResult();
            await release.Task.WaitAsync(context.CancellationToken);
            return new Moved(Tag);
        }

        private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public sealed record Moved(string Tag) : INode<Ended>
    {
        public ValueTask<Ended> RunAsync(NodeContext context) => ValueTask.FromResult(new Ended(Tag));
    }

    public sealed record Ended(string Tag) : INode;
}

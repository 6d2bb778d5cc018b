using System.Collections.Concurrent;
using System.Text.Json;
using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Npgsql.Checkpoints;
using Dataflow.Npgsql.Jobs;

namespace Dataflow.Npgsql.Tests.Jobs;

/// <summary>Workers in this process on a real PostgreSQL queue: sharing a job, taking over expired leases, draining, jobs that do not mix.</summary>
public sealed class WorkerTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private string _database = string.Empty;

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await PostgresSetUp.Server.CreateDatabaseAsync("workers");

    [Test]
    public async Task TwoWorkers_ShareOneJob_AndEveryInputEndsDoneOnce_WithItsResult()
    {
        var tag = Tag();
        var graph = Graph.Create<Fetch>(new GraphOptions { Durable = true, MaxRunsInFlight = 20 });
        await using var queue = await JobQueue.OpenAsync(_database);
        Assert.That(await queue.SubmitAsync(tag, graph, Enumerable.Range(1, 300).Select(i => (INode)new Fetch(tag, i))), Is.EqualTo(300));

        var summaries = await Task.WhenAll(RunWorkerAsync(graph, new WorkerOptions { Job = tag, ClaimBatch = 8 }), RunWorkerAsync(graph, new WorkerOptions { Job = tag, ClaimBatch = 8 })).WaitAsync(Guard);
        var items = await queue.ItemsAsync(tag).ToListAsync();
        var progress = await queue.ProgressAsync(tag);
        var workers = await queue.WorkersAsync(tag);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(items.Select(i => i.State).Distinct(), Is.EqualTo(new[] { JobItemState.Done }));
            Assert.That(items.Select(i => JsonDocument.Parse(i.Result!).RootElement.GetProperty("Total").GetInt32()), Is.EqualTo(Enumerable.Range(1, 300).Select(i => 3 * i)));
            Assert.That(items.Select(i => i.RunId), Is.Unique.And.All.Not.Null);
            Assert.That(Fetch.Executions.Where(e => e.Key.Tag == tag).Select(e => e.Value).Distinct(), Is.EqualTo(new[] { 1 }), "every node of every input ran once");
            Assert.That(Fetch.Executions.Count(e => e.Key.Tag == tag), Is.EqualTo(600));
            Assert.That(summaries.Sum(s => s.Done), Is.EqualTo(300));
            Assert.That(summaries.All(s => s.Done > 0), Is.True, "both workers took part: " + string.Join(", ", summaries));
            Assert.That(progress, Is.EqualTo(progress with { Total = 300, Queued = 0, Leased = 0, Done = 300, Failed = 0, Cancelled = 0 }));
            Assert.That(progress.IsFinished, Is.True);
            Assert.That(workers, Has.Count.EqualTo(2));
            Assert.That(workers.Sum(w => w.Done), Is.EqualTo(300));
            Assert.That(workers.All(w => w.StoppedAt is not null && w.Leased == 0), Is.True);
        }
    }

    [Test]
    public async Task ExpiredLeases_AreTakenOver_ResumingStartedRuns_RecordingFinishedOnes_AndStartingTheRest()
    {
        var tag = Tag();
        var graph = Graph.Create<Fetch>(new GraphOptions { Durable = true });
        await using var queue = await JobQueue.OpenAsync(_database);
        await queue.SubmitAsync(tag, graph, Enumerable.Range(1, 5).Select(i => (INode)new Fetch(tag, i)));

        // A worker that dies: it claims three inputs for one second, runs the first past its first node, finishes the
        // second without recording it, never starts the third, and vanishes (its engine is gone, its lease lapses).
        var ghost = await queue.ClaimAsync("ghost", JobQueue.GraphId(graph), tag, 3, TimeSpan.FromSeconds(1), maxAttempts: 5, expired: true, after: 0, CancellationToken.None);
        Assert.That(ghost.Select(g => g.Line), Is.EqualTo(new[] { 1L, 2L, 3L }));
        Fetch.HoldAt(tag, 1);
        await using (var store = await PostgresSessionStore.OpenAsync(_database))
        {
            await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
            var held = await SubmitForAsync(engine, graph, ghost[0].Id, new Fetch(tag, 1));
            var finished = await SubmitForAsync(engine, graph, ghost[1].Id, new Fetch(tag, 2));
            await finished.Completion.WaitAsync(Guard);
            await Fetch.Reached[(tag, 1)].Task.WaitAsync(Guard);
            await store.Checkpoints.FlushAsync();
            Assert.That(held.State, Is.EqualTo(RunState.Running));
        }

        Fetch.Hold[(tag, 1)].SetResult();

        var summary = await RunWorkerAsync(graph, new WorkerOptions { Job = tag, Lease = TimeSpan.FromSeconds(1), PollInterval = TimeSpan.FromMilliseconds(100) }).WaitAsync(Guard);
        var items = await queue.ItemsAsync(tag).ToListAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(items.Select(i => i.State).Distinct(), Is.EqualTo(new[] { JobItemState.Done }));
            Assert.That(items.Select(i => JsonDocument.Parse(i.Result!).RootElement.GetProperty("Total").GetInt32()), Is.EqualTo(new[] { 3, 6, 9, 12, 15 }));
            Assert.That(items.Select(i => i.Attempts), Is.EqualTo(new[] { 2, 2, 2, 1, 1 }));
            Assert.That(summary.TakenOver, Is.EqualTo(3));
            Assert.That(Fetch.Executions[(tag, 1, "Fetch")], Is.EqualTo(1), "the started run resumed after its first node");
            Assert.That(Fetch.Executions[(tag, 1, "Sum")], Is.EqualTo(2), "its node executing at the death ran again");
            Assert.That(Fetch.Executions[(tag, 2, "Fetch")], Is.EqualTo(1), "the finished run did not run again");
            Assert.That(Fetch.Executions[(tag, 2, "Sum")], Is.EqualTo(1), "the finished run did not run again");
            Assert.That(Fetch.Executions[(tag, 3, "Fetch")], Is.EqualTo(1));
            Assert.That(items[1].RunId, Is.Not.Null);
        }
    }

    [Test]
    public async Task StoppedWorker_DrainsItsLeases_AndTheNextResumesTheirRuns()
    {
        var tag = Tag();
        var graph = Graph.Create<Fetch>(new GraphOptions { Durable = true, MaxRunsInFlight = 4 });
        await using var queue = await JobQueue.OpenAsync(_database);
        await queue.SubmitAsync(tag, graph, Enumerable.Range(1, 4).Select(i => (INode)new Fetch(tag, i)));
        foreach (var i in Enumerable.Range(1, 4))
        {
            Fetch.HoldAt(tag, i);
        }

        using var stop = new CancellationTokenSource();
        var first = RunWorkerAsync(graph, new WorkerOptions { Job = tag, DrainTimeout = TimeSpan.FromMilliseconds(200) }, stop.Token);
        await Task.WhenAll(Enumerable.Range(1, 4).Select(i => Fetch.Reached[(tag, i)].Task)).WaitAsync(Guard);
        await stop.CancelAsync();
        var stopped = await first.WaitAsync(Guard);
        var between = await queue.ProgressAsync(tag);
        foreach (var i in Enumerable.Range(1, 4))
        {
            Fetch.Hold[(tag, i)].SetResult();
        }

        var second = await RunWorkerAsync(graph, new WorkerOptions { Job = tag }).WaitAsync(Guard);
        var items = await queue.ItemsAsync(tag).ToListAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(stopped.Released, Is.EqualTo(4));
            Assert.That(between.Queued, Is.EqualTo(4), "given back to the queue");
            Assert.That(second.Done, Is.EqualTo(4));
            Assert.That(second.TakenOver, Is.Zero, "given back, not expired");
            Assert.That(items.Select(i => i.State).Distinct(), Is.EqualTo(new[] { JobItemState.Done }));
            Assert.That(Enumerable.Range(1, 4).Select(i => Fetch.Executions[(tag, i, "Fetch")]), Is.All.EqualTo(1), "resumed past the first node");
        }
    }

    [Test]
    public async Task TwoJobsAtOnce_OfOneGraphAndOfAnother_DoNotMix()
    {
        var (a, b, c) = (Tag(), Tag(), Tag());
        var fetch = Graph.Create<Fetch>(new GraphOptions { Durable = true });
        var other = Graph.Create<Shout>(new GraphOptions { Durable = true });
        await using var queue = await JobQueue.OpenAsync(_database);
        await queue.SubmitAsync(a, fetch, Enumerable.Range(1, 100).Select(i => (INode)new Fetch(a, i)));
        await queue.SubmitAsync(b, fetch, Enumerable.Range(1, 100).Select(i => (INode)new Fetch(b, 1000 + i)));
        await queue.SubmitAsync(c, other, Enumerable.Range(1, 100).Select(i => (INode)new Shout($"w{i}")));

        var summaries = await Task.WhenAll(
            RunWorkerAsync(fetch, new WorkerOptions { Job = a, WorkerId = a + "-w" }),
            RunWorkerAsync(fetch, new WorkerOptions { Job = b, WorkerId = b + "-w" }),
            RunWorkerAsync(other, new WorkerOptions { WorkerId = c + "-w", StopWhenDone = true })).WaitAsync(Guard);

        var items = new Dictionary<string, List<JobItem>>
        {
            [a] = await queue.ItemsAsync(a).ToListAsync(),
            [b] = await queue.ItemsAsync(b).ToListAsync(),
            [c] = await queue.ItemsAsync(c).ToListAsync(),
        };
        using (Assert.EnterMultipleScope())
        {
            Assert.That(summaries.Select(s => s.Done), Is.EqualTo(new[] { 100L, 100L, 100L }));
            foreach (var (job, list) in items)
            {
                Assert.That(list.Select(i => i.Worker).Distinct(), Is.EqualTo(new[] { job + "-w" }), $"job {job} was worked by its own worker only");
                Assert.That(list.Select(i => i.State).Distinct(), Is.EqualTo(new[] { JobItemState.Done }));
            }

            Assert.That(items[a].Select(i => JsonDocument.Parse(i.Result!).RootElement.GetProperty("Total").GetInt32()), Is.EqualTo(Enumerable.Range(1, 100).Select(i => 3 * i)));
            Assert.That(items[b].Select(i => JsonDocument.Parse(i.Result!).RootElement.GetProperty("Total").GetInt32()), Is.EqualTo(Enumerable.Range(1, 100).Select(i => 3 * (1000 + i))));
            Assert.That(items[c].Select(i => JsonDocument.Parse(i.Result!).RootElement.GetProperty("Text").GetString()), Is.EqualTo(Enumerable.Range(1, 100).Select(i => $"W{i}!")));
        }
    }

    [Test]
    public async Task UnreadableInput_EndsFailed_NamingTheInput_AndTheOthersRun()
    {
        var tag = Tag();
        var graph = Graph.Create<Fetch>(new GraphOptions { Durable = true });
        await using var queue = await JobQueue.OpenAsync(_database);
        await queue.SubmitAsync(tag, graph, new[] { $"{{\"tag\":\"{tag}\",\"id\":1}}", "{\"id\": \"not a number\"}", "[1,2]" }.ToAsyncEnumerable());

        var summary = await RunWorkerAsync(graph, new WorkerOptions { Job = tag }).WaitAsync(Guard);
        var items = await queue.ItemsAsync(tag).ToListAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(items.Select(i => i.State), Is.EqualTo(new[] { JobItemState.Done, JobItemState.Failed, JobItemState.Failed }));
            Assert.That(items[1].Error, Does.Contain("input 2 of job").And.Contain("is not a Fetch"));
            Assert.That(items[2].Error, Does.Contain("input 3 of job"));
            Assert.That((summary.Done, summary.Failed), Is.EqualTo((1L, 2L)));
        }
    }

    [Test]
    public async Task BadArguments_AreRefused_NamingWhatIsWrong()
    {
        await using var queue = await JobQueue.OpenAsync(_database);
        await using var store = await PostgresSessionStore.OpenAsync(_database);
        var durable = Graph.Create<Fetch>(new GraphOptions { Durable = true });
        var tag = Tag();
        await queue.SubmitAsync(tag, durable, [new Fetch(tag, 1)]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => new Worker(queue, store, Graph.Create<Fetch>()), Throws.ArgumentException.With.Message.Contains("must be durable"));
            Assert.That(() => new Worker(queue, store, durable, new WorkerOptions { Lease = TimeSpan.FromSeconds(1), Heartbeat = TimeSpan.FromSeconds(2) }), Throws.ArgumentException.With.Message.Contains("Heartbeat"));
            Assert.That(() => new Worker(queue, store, durable, new WorkerOptions { ClaimBatch = 0 }), Throws.ArgumentException.With.Message.Contains("ClaimBatch"));
            Assert.ThrowsAsync<JobExistsException>(() => queue.SubmitAsync(tag, durable, [new Fetch(tag, 2)]));
            Assert.ThrowsAsync<UnknownJobException>(() => queue.ProgressAsync("no such job"));
            Assert.That(() => queue.SubmitAsync("", durable, [new Fetch(tag, 2)]), Throws.ArgumentException.With.Message.Contains("job name"));
            Assert.That(() => queue.SubmitAsync(Tag(), durable, [new Shout("x")]), Throws.ArgumentException.With.Message.Contains("not a start node"));
        }

        await using var worker = new Worker(queue, store, durable, new WorkerOptions { Job = "no such job" });
        Assert.ThrowsAsync<UnknownJobException>(() => worker.RunAsync());
    }

    private static string Tag() => "t" + Guid.NewGuid().ToString("N")[..10];

    private static async Task<GraphRun> SubmitForAsync(GraphEngine engine, Graph graph, long item, INode start)
    {
        QueueItemScope.Enter(item);
        return await engine.SubmitAsync(graph, start);
    }

    private async Task<WorkerSummary> RunWorkerAsync(Graph graph, WorkerOptions options, CancellationToken cancellationToken = default)
    {
        await using var queue = await JobQueue.OpenAsync(_database, cancellationToken: cancellationToken);
        await using var store = await PostgresSessionStore.OpenAsync(_database, cancellationToken: cancellationToken);
        await using var worker = new Worker(queue, store, graph, options);
        return await worker.RunAsync(cancellationToken);
    }

    public sealed record Fetch(string Tag, int Id) : INode<Sum>
    {
        public static ConcurrentDictionary<(string Tag, int Id, string Node), int> Executions { get; } = new();

        /// <summary>Where a test holds a run in its second node, and learns that it got there.</summary>
        public static ConcurrentDictionary<(string Tag, int Id), TaskCompletionSource> Hold { get; } = new();

        public static ConcurrentDictionary<(string Tag, int Id), TaskCompletionSource> Reached { get; } = new();

        public static void HoldAt(string tag, int id)
        {
            Hold[(tag, id)] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Reached[(tag, id)] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public ValueTask<Sum> RunAsync(NodeContext context)
        {
            Executions.AddOrUpdate((Tag, Id, "Fetch"), 1, (_, n) => n + 1);
            return ValueTask.FromResult(new Sum(Tag, Id, 2 * Id));
        }
    }

    public sealed record Sum(string Tag, int Id, int Doubled) : INode<Summed>
    {
        public async ValueTask<Summed> RunAsync(NodeContext context)
        {
            Fetch.Executions.AddOrUpdate((Tag, Id, "Sum"), 1, (_, n) => n + 1);
            if (Fetch.Hold.TryGetValue((Tag, Id), out var hold))
            {
                Fetch.Reached[(Tag, Id)].TrySetResult();
                await hold.Task.WaitAsync(context.CancellationToken);
            }

            return new Summed(Doubled + Id);
        }
    }

    public sealed record Summed(int Total) : INode;

    public sealed record Shout(string Word) : INode<Shouted>
    {
        public ValueTask<Shouted> RunAsync(NodeContext context) => ValueTask.FromResult(new Shouted(Word.ToUpperInvariant() + "!"));
    }

    public sealed record Shouted(string Text) : INode;
}

using System.Collections.Concurrent;
using Dapper;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Npgsql.Checkpoints;
using Dataflow.Npgsql.Jobs;
using Npgsql;

namespace Dataflow.Npgsql.Tests.Jobs;

/// <summary>
/// What a worker must not do when things go wrong around it: write over the worker that took its lease over, claim a
/// poison input forever, or have <c>dataflow resume</c> run an input a worker holds.
/// </summary>
public sealed class WorkerGapsTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private string _database = string.Empty;

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _database = await PostgresSetUp.Server.CreateDatabaseAsync("gaps");

    [Test]
    public async Task LapsedLease_TakenOver_TheOldOwnersLateCheckpointsAndEnd_ChangeNothing()
    {
        var tag = Tag();
        var graph = Graph.Create<Begin>(new GraphOptions { Durable = true });
        await using var queue = await JobQueue.OpenAsync(_database);
        await queue.SubmitAsync(tag, graph, [new Begin(tag, 1)]);
        Hold.Arm(tag, 1);

        // Worker A runs the input into its second node and stays there; its heartbeat would come only in hours, and it
        // does not look for inputs again before it is stopped (else it could claim its own lapsed lease back first).
        await using var storeA = await PostgresSessionStore.OpenAsync(_database);
        await using var workerA = new Worker(queue, storeA, graph, new WorkerOptions
        {
            Job = tag, WorkerId = tag + "-a", Lease = TimeSpan.FromDays(1), Heartbeat = TimeSpan.FromHours(12), PollInterval = TimeSpan.FromHours(1), DrainTimeout = Guard,
        });
        using var stopA = new CancellationTokenSource();
        var runningA = workerA.RunAsync(stopA.Token);
        await Hold.Reached[(tag, 1)].Task.WaitAsync(Guard);

        // A's lease lapses (a stalled network, a long pause): worker B takes the input over, resumes the run and ends it.
        await ExecuteAsync("UPDATE dataflow.job_items SET lease_expires = now() - interval '1 second' WHERE job = @Tag", tag);
        await using var storeB = await PostgresSessionStore.OpenAsync(_database);
        WorkerSummary summaryB;
        await using (var workerB = new Worker(queue, storeB, graph, new WorkerOptions { Job = tag, WorkerId = tag + "-b", PollInterval = TimeSpan.FromMilliseconds(100) }))
        {
            summaryB = await workerB.RunAsync().WaitAsync(Guard);
        }

        var runId = (await queue.ItemsAsync(tag).ToListAsync())[0].RunId!;
        var afterB = await CheckpointsAsync(runId);

        // A wakes up and is stopped: it waits for its copy of the run, which goes on to its end.
        Hold.Release[(tag, 1)].SetResult();
        await stopA.CancelAsync();
        var summaryA = await runningA.WaitAsync(Guard);

        var item = (await queue.ItemsAsync(tag).ToListAsync()).Single();
        var afterA = await CheckpointsAsync(runId);
        var workers = await queue.WorkersAsync(tag);
        using (Assert.EnterMultipleScope())
        {
            Assert.That((summaryB.TakenOver, summaryB.Done), Is.EqualTo((1L, 1L)));
            Assert.That(summaryA.Released, Is.Zero, "A's run ended before it stopped");
            Assert.That((item.State, item.Worker, item.Attempts), Is.EqualTo((JobItemState.Done, tag + "-b", 2)));
            Assert.That(Hold.Executions[(tag, 1)], Is.EqualTo(2), "A's copy and B's resumed run both ran the held node");
            Assert.That(afterA, Is.EqualTo(afterB), "A's late checkpoints did not overwrite B's");
            Assert.That(afterA[^1], Is.EqualTo((2, storeB.SessionId, "Done")));
            Assert.That(afterA.Take(2).Select(c => c.Session), Is.All.EqualTo(storeA.SessionId), "what A wrote while it held the lease stays");
            Assert.That(await ScalarAsync<string>("SELECT session_id || ' ' || state FROM dataflow.durable_runs WHERE run_id = @Tag", runId), Is.EqualTo(storeB.SessionId + " Done"));
            Assert.That(workers.Single(w => w.Id == tag + "-a").Done, Is.Zero, "A recorded no end for an input it no longer held");
            Assert.That(workers.Single(w => w.Id == tag + "-b").Done, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task PoisonInput_ClaimedMaxAttemptsTimes_EndsFailedSayingWhy_AndTheOthersRun()
    {
        var tag = Tag();
        var graph = Graph.Create<Begin>(new GraphOptions { Durable = true });
        await using var queue = await JobQueue.OpenAsync(_database);
        await queue.SubmitAsync(tag, graph, Enumerable.Range(1, 3).Select(i => (INode)new Begin(tag, i)));

        // Inputs 1 and 2 as workers that died holding them left them: leased by no live worker, the lease expired;
        // input 1 was claimed three times already, input 2 twice.
        await ExecuteAsync(
            "UPDATE dataflow.job_items SET state = 'leased', worker = 'gone', lease_expires = now() - interval '1 second', attempts = 4 - line::int WHERE job = @Tag AND line IN (1, 2)", tag);

        WorkerSummary summary;
        await using (var store = await PostgresSessionStore.OpenAsync(_database))
        {
            await using var worker = new Worker(queue, store, graph, new WorkerOptions { Job = tag, WorkerId = tag + "-w", MaxAttempts = 3 });
            summary = await worker.RunAsync().WaitAsync(Guard);
        }

        var items = await queue.ItemsAsync(tag).ToListAsync();
        var workers = await queue.WorkersAsync(tag);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(items.Select(i => i.State), Is.EqualTo(new[] { JobItemState.Failed, JobItemState.Done, JobItemState.Done }));
            Assert.That(items[0].Error, Does.Contain($"input 1 of job '{tag}' after 3 claims").And.Contain("MaxAttempts is 3"));
            Assert.That(items.Select(i => i.Attempts), Is.EqualTo(new[] { 3, 3, 1 }));
            Assert.That(Hold.Executions.ContainsKey((tag, 1)), Is.False, "the poison input was not run again");
            Assert.That((summary.TakenOver, summary.Done), Is.EqualTo((1L, 2L)));
            Assert.That(workers.Single().Failed, Is.EqualTo(1));
        }

        await using var check = await PostgresSessionStore.OpenAsync(_database);
        Assert.That(() => new Worker(queue, check, graph, new WorkerOptions { MaxAttempts = 0 }), Throws.ArgumentException.With.Message.Contains("MaxAttempts"));
    }

    [Test]
    public async Task Resume_BesideWorkers_LeavesTheRunsOfQueuedInputsToThem_AndResumesTheOthers()
    {
        var database = await PostgresSetUp.Server.CreateDatabaseAsync("resume");
        var tag = Tag();
        var graph = Graph.Create<Begin>(new GraphOptions { Durable = true });
        await using var queue = await JobQueue.OpenAsync(database);
        await queue.SubmitAsync(tag, graph, [new Begin(tag, 1)]);
        var claimed = await queue.ClaimAsync("elsewhere", JobQueue.GraphId(graph), tag, 1, TimeSpan.FromDays(1), maxAttempts: 5, expired: true, after: 0, CancellationToken.None);
        Hold.Arm(tag, 1);
        Hold.Arm(tag, 2);

        // A worker's run of input 1 and a run of the same graph outside any queue both stop resumably in their second node.
        string queued, free;
        await using (var store = await PostgresSessionStore.OpenAsync(database))
        {
            await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
            QueueItemScope.Enter(claimed[0].Id);
            queued = (await engine.SubmitAsync(graph, new Begin(tag, 1))).Id;
            free = (await SubmitOutsideAsync(engine, graph, new Begin(tag, 2))).Id;
            await Task.WhenAll(Hold.Reached[(tag, 1)].Task, Hold.Reached[(tag, 2)].Task).WaitAsync(Guard);
            await store.Checkpoints.FlushAsync();
        }

        Hold.Release[(tag, 1)].SetResult();
        Hold.Release[(tag, 2)].SetResult();
        await using (var store = await PostgresSessionStore.OpenAsync(database))
        {
            await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
            var resumed = await engine.ResumeAsync(graph);
            await Task.WhenAll(resumed.Resumed.Select(r => r.Completion)).WaitAsync(Guard);
            var item = (await queue.ItemsAsync(tag).ToListAsync()).Single();
            using (Assert.EnterMultipleScope())
            {
                Assert.That(resumed.Resumed.Select(r => r.Id), Is.EqualTo(new[] { free }));
                Assert.That(resumed.Resumed.Single().State, Is.EqualTo(RunState.Done));
                Assert.That((item.State, item.RunId, item.Worker), Is.EqualTo((JobItemState.Leased, queued, "elsewhere")), "the input stays with its worker");
                Assert.That(Hold.Executions[(tag, 1)], Is.EqualTo(1), "the queued input's run was not resumed");
            }
        }
    }

    private static string Tag() => "g" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Submits from a flow of its own, so that no queue item scope of the caller reaches the run.</summary>
    private static async Task<GraphRun> SubmitOutsideAsync(GraphEngine engine, Graph graph, INode start)
    {
        Task<GraphRun> submitted;
        using (ExecutionContext.SuppressFlow())
        {
            submitted = Task.Run(async () => await engine.SubmitAsync(graph, start));
        }

        return await submitted;
    }

    private async Task<List<(int Seq, string Session, string State)>> CheckpointsAsync(string runId)
    {
        await using var connection = new NpgsqlConnection(_database);
        return [.. await connection.QueryAsync<(int, string, string)>("SELECT seq, session_id, state FROM dataflow.checkpoints WHERE run_id = @Run ORDER BY seq", new { Run = runId })];
    }

    private async Task ExecuteAsync(string sql, string tag)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.ExecuteAsync(sql, new { Tag = tag });
    }

    private async Task<T> ScalarAsync<T>(string sql, string tag)
    {
        await using var connection = new NpgsqlConnection(_database);
        return await connection.ExecuteScalarAsync<T>(sql, new { Tag = tag }) ?? throw new InvalidOperationException("No row.");
    }

    public sealed record Begin(string Tag, int Id) : INode<Hold>
    {
        public ValueTask<Hold> RunAsync(NodeContext context) => ValueTask.FromResult(new Hold(Tag, Id));
    }

    /// <summary>The first execution of an armed input waits until the test releases it; the later ones pass.</summary>
    public sealed record Hold(string Tag, int Id) : INode<Held>
    {
        public static ConcurrentDictionary<(string Tag, int Id), int> Executions { get; } = new();

        public static ConcurrentDictionary<(string Tag, int Id), TaskCompletionSource> Reached { get; } = new();

        public static ConcurrentDictionary<(string Tag, int Id), TaskCompletionSource> Release { get; } = new();

        public static void Arm(string tag, int id)
        {
            Reached[(tag, id)] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Release[(tag, id)] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public async ValueTask<Held> RunAsync(NodeContext context)
        {
            if (Executions.AddOrUpdate((Tag, Id), 1, (_, n) => n + 1) == 1 && Release.TryGetValue((Tag, Id), out var release))
            {
                Reached[(Tag, Id)].TrySetResult();
                await release.Task.WaitAsync(context.CancellationToken);
            }

            return new Held(Id);
        }
    }

    public sealed record Held(int Id) : INode;
}

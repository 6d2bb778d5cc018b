using Dapper;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Npgsql.Checkpoints;
using Dataflow.Npgsql.Jobs;
using Npgsql;
using static Dataflow.Npgsql.Tests.Jobs.WorkerGapsTests;

namespace Dataflow.Npgsql.Tests.Jobs;

/// <summary>
/// Schema versions 5 (a leaner queue: the run tie a heap-only update, items found by id, <c>durable_runs</c> written when
/// a run's state changes) and 6 (one index that finds a job's queued inputs in id order): a database that version 4 left
/// with a dead worker's run half-way is migrated when it is opened, and a worker of this release takes the run over from
/// its last checkpoint and finishes the job.
/// </summary>
public sealed class QueueMigrationTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Version4Database_WithADeadWorkersRun_MigratesToTheCurrentVersion_AndAWorkerResumesTheRun()
    {
        var tag = "m" + Guid.NewGuid().ToString("N")[..10];
        var graph = Graph.Create<Begin>(new GraphOptions { Durable = true });
        Hold.Arm(tag, 1);

        // Rows as version 4 wrote them. Made by this release in a database of its own (the checkpoint, session and queue
        // columns are the same in both versions): input 1's run stops resumably in its second node, input 2 is queued.
        var made = await PostgresSetUp.Server.CreateDatabaseAsync("v5made");
        string runId;
        await using (var queue = await JobQueue.OpenAsync(made))
        {
            await queue.SubmitAsync(tag, graph, [new Begin(tag, 1), new Begin(tag, 2)]);
            var claimed = await queue.ClaimAsync("gone", JobQueue.GraphId(graph), tag, 1, TimeSpan.FromDays(1), maxAttempts: 5, expired: true, after: 0, CancellationToken.None);
            await using var store = await PostgresSessionStore.OpenAsync(made);
            await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
            QueueItemScope.Enter(claimed[0].Id);
            runId = (await engine.SubmitAsync(graph, new Begin(tag, 1))).Id;
            await Hold.Reached[(tag, 1)].Task.WaitAsync(Guard);
            await store.Checkpoints.FlushAsync();
        }

        // A version 4 schema holding those rows; its durable_runs row names the run's latest checkpoint, as version 4 kept it.
        var old = await PostgresSetUp.Server.CreateDatabaseAsync("v4");
        await using (var database = PostgresDatabase.Create(old, "dataflow", readOnly: false))
        await using (var connection = await database.OpenAsync("migrate", CancellationToken.None))
        {
            await Schema.MigrateAsync(connection, database, 4, CancellationToken.None);
            await using var source = new NpgsqlConnection(made);
            foreach (var table in new[] { "sessions", "checkpoint_graphs", "checkpoints", "jobs", "job_items", "workers" })
            {
                var rows = await source.ExecuteScalarAsync<string>($"SELECT coalesce(json_agg(t), '[]') FROM dataflow.{table} t");
                await connection.ExecuteAsync($"INSERT INTO dataflow.{table} OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(NULL::dataflow.{table}, @Rows::json)", new { Rows = rows });
            }

            await connection.ExecuteAsync(
                "INSERT INTO dataflow.durable_runs (run_id, graph, state, seq, session_id, updated_at) SELECT run_id, graph, state, seq, session_id, timestamp FROM dataflow.checkpoints WHERE run_id = @RunId ORDER BY seq DESC LIMIT 1",
                new { RunId = runId });
            await connection.ExecuteAsync("UPDATE dataflow.job_items SET lease_expires = now() - interval '1 second' WHERE worker = 'gone'");

            // The engines that wrote those rows reserved their run id prefixes from this database's sequence.
            await connection.ExecuteAsync("SELECT setval('dataflow.run_prefixes', @Last)", new { Last = await source.ExecuteScalarAsync<long>("SELECT last_value FROM dataflow.run_prefixes") });
            Assert.That(await connection.ExecuteScalarAsync<int>("SELECT max(seq) FROM dataflow.durable_runs"), Is.EqualTo(1), "the run stopped after its second checkpoint");
        }

        Hold.Release[(tag, 1)].SetResult();
        WorkerSummary summary;
        await using (var queue = await JobQueue.OpenAsync(old))
        await using (var store = await PostgresSessionStore.OpenAsync(old))
        await using (var worker = new Worker(queue, store, graph, new WorkerOptions { Job = tag, WorkerId = tag + "-w", PollInterval = TimeSpan.FromMilliseconds(50) }))
        {
            summary = await worker.RunAsync().WaitAsync(Guard);
            var items = await queue.ItemsAsync(tag).ToListAsync();
            using (Assert.EnterMultipleScope())
            {
                Assert.That((summary.TakenOver, summary.Done), Is.EqualTo((1L, 2L)));
                Assert.That(items.Select(i => (i.State, i.Worker)), Is.All.EqualTo((JobItemState.Done, tag + "-w")));
                Assert.That(items[0].RunId, Is.EqualTo(runId), "input 1 kept its run");
                Assert.That(System.Text.Json.JsonDocument.Parse(items[0].Result!).RootElement.GetProperty("Id").GetInt32(), Is.EqualTo(1));
                Assert.That(Hold.Executions[(tag, 1)], Is.EqualTo(2), "the held node ran again on resume, and the first node did not");
                Assert.That(store.CheckpointStore.Ties.Count, Is.Zero, "the worker's run-to-input ties are gone once it stopped");
            }
        }

        await using var check = new NpgsqlConnection(old);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await check.QueryAsync<int>("SELECT version FROM dataflow.schema_version ORDER BY version"), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
            Assert.That(await check.QueryAsync<string>("SELECT indexdef::text FROM pg_indexes WHERE schemaname = 'dataflow' AND tablename = 'job_items' AND indexname <> 'job_items_pkey' ORDER BY indexname"),
                Is.EqualTo(new[]
                {
                    "CREATE INDEX job_items_job ON dataflow.job_items USING btree (job, state, id)",
                    "CREATE INDEX job_items_queued ON dataflow.job_items USING btree (job, id) WHERE (state = 'queued'::text)",
                    "CREATE INDEX job_items_worker ON dataflow.job_items USING btree (worker) WHERE (state = 'leased'::text)",
                }));
            Assert.That(await check.ExecuteScalarAsync<string[]>("SELECT reloptions FROM pg_class WHERE oid = 'dataflow.job_items'::regclass"), Is.EqualTo(new[] { "fillfactor=50" }));
            Assert.That(await check.QueryAsync<(int, string)>("SELECT seq, state FROM dataflow.checkpoints WHERE run_id = @RunId ORDER BY seq", new { RunId = runId }),
                Is.EqualTo(new[] { (0, "Running"), (1, "Running"), (2, "Done") }));
            Assert.That(await check.QuerySingleAsync<(int, string)>("SELECT seq, state FROM dataflow.durable_runs WHERE run_id = @RunId", new { RunId = runId }), Is.EqualTo((2, "Done")));
        }
    }
}

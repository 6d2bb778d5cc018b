using Dapper;
using Dataflow.Checkpoints;
using Dataflow.Npgsql.Checkpoints;
using Npgsql;

namespace Dataflow.Npgsql.Tests.Checkpoints;

/// <summary>
/// The PostgreSQL checkpoint writer's batches: one implicit transaction per batch (no BEGIN or COMMIT of their own), and
/// a run's <c>durable_runs</c> row written only when its state changes, its latest checkpoint read by sequence.
/// </summary>
public sealed class CheckpointTargetTests
{
    private string _connectionString = string.Empty;

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync()
    {
        _connectionString = await PostgresSetUp.Server.CreateDatabaseAsync("target");
        await (await PostgresSessionStore.OpenAsync(_connectionString)).DisposeAsync();
    }

    [Test]
    public async Task ABatchWhoseLaterStatementFails_WritesNothing()
    {
        var good = Run("good");
        var bad = Run("bad");
        await using var database = PostgresDatabase.Create(_connectionString, "dataflow", readOnly: false);
        var target = new CheckpointTarget(database);
        await using (var connection = new NpgsqlConnection(_connectionString))
        {
            // The checkpoints insert (the batch's first statement) takes both rows; the durable_runs insert after it refuses one.
            await connection.ExecuteAsync($"ALTER TABLE dataflow.durable_runs ADD CONSTRAINT refuse_{bad} CHECK (run_id <> '{bad}')");
        }

        Assert.That(async () => await target.WriteBatchAsync([Write(good, 0, "Running"), Write(bad, 0, "Running")], CancellationToken.None), Throws.InstanceOf<StoreException>());
        await target.WriteBatchAsync([Write(good, 0, "Running")], CancellationToken.None);

        await using var check = new NpgsqlConnection(_connectionString);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM dataflow.checkpoints WHERE run_id = @Bad", new { Bad = bad }), Is.Zero, "the failed batch's first statement was rolled back with it");
            Assert.That(await check.ExecuteScalarAsync<long>("SELECT count(*) FROM dataflow.checkpoints WHERE run_id = @Good", new { Good = good }), Is.EqualTo(1), "a later batch writes as usual");
        }
    }

    [Test]
    public async Task RunningAfterRunning_LeavesDurableRunsAsItWas_AndTheLatestCheckpointIsReadBySequence()
    {
        var run = Run("steps");
        await using var database = PostgresDatabase.Create(_connectionString, "dataflow", readOnly: false);
        var target = new CheckpointTarget(database);
        await using var connection = new NpgsqlConnection(_connectionString);
        var durable = () => connection.QuerySingleAsync<(int, string)>("SELECT seq, state FROM dataflow.durable_runs WHERE run_id = @Run", new { Run = run });
        var latest = async () => (await CheckpointQueries.LatestAsync(connection, database, [run], CancellationToken.None)).Single().Sequence;

        await target.WriteBatchAsync([Write(run, 0, "Running")], CancellationToken.None);
        await target.WriteBatchAsync([Write(run, 1, "Running")], CancellationToken.None);
        var running = (await durable(), await latest());
        await target.WriteBatchAsync([Write(run, 2, "Waiting")], CancellationToken.None);
        var waiting = (await durable(), await latest());
        await target.WriteBatchAsync([Write(run, 3, "Running")], CancellationToken.None);
        await target.WriteBatchAsync([Write(run, 4, "Done")], CancellationToken.None);
        var done = (await durable(), await latest());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(running, Is.EqualTo(((0, "Running"), 1)), "the second Running checkpoint wrote no durable_runs row");
            Assert.That(waiting, Is.EqualTo(((2, "Waiting"), 2)));
            Assert.That(done, Is.EqualTo(((4, "Done"), 4)));
        }
    }

    private static string Run(string name) => name + Guid.NewGuid().ToString("N")[..8];

    private static CheckpointWrite Write(string run, int seq, string state) => new()
    {
        RunId = run,
        Seq = seq,
        SessionId = "s",
        Graph = "g",
        Fingerprint = "f",
        State = state,
        NodeType = "N",
        Node = "{}",
        Timestamp = DateTime.UtcNow,
    };
}

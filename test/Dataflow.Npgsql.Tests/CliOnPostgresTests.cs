using System.Text.Json;
using Dataflow.Cli;
using Npgsql;

namespace Dataflow.Npgsql.Tests;

/// <summary>The real command line, in-process, with <c>--db</c> naming a database on the throwaway server.</summary>
public sealed class CliOnPostgresTests
{
    private string _keywords = string.Empty;
    private string _uri = string.Empty;

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync()
    {
        _keywords = await PostgresSetUp.Server.CreateDatabaseAsync("cli");
        var builder = new NpgsqlConnectionStringBuilder(_keywords);
        _uri = $"postgresql://{builder.Username}@/{builder.Database}?host={Uri.EscapeDataString(builder.Host!)}&port={builder.Port}";
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Run_ThenTheReadCommands_WorkOnPostgres(CancellationToken cancellationToken)
    {
        var run = await RunCliAsync(cancellationToken, "run", "--count", "40", "--db", _uri);
        Assert.That(run.ExitCode, Is.AnyOf(0, 1), run.ToString());
        Assert.That(run.Output, Does.Contain("schema 'dataflow' of database"));

        var search = await RunCliAsync(cancellationToken, "search", "started", "--limit", "5", "--json", "--db", _keywords);
        var sessions = await RunCliAsync(cancellationToken, "sessions", "--json", "--db", _uri);
        var show = await RunCliAsync(cancellationToken, "show", "g1", "--db", _keywords);
        var recent = await RunCliAsync(cancellationToken, "recent", "-n", "3", "--db", _keywords);
        var bad = await RunCliAsync(cancellationToken, "search", "started & (", "--fts", "--db", _keywords);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(search.ExitCode, Is.Zero, search.ToString());
            using var hits = JsonDocument.Parse(search.Output);
            Assert.That(hits.RootElement.GetArrayLength(), Is.EqualTo(5));
            Assert.That(hits.RootElement[0].GetProperty("snippet").GetString(), Does.Contain("[started]"));
            Assert.That(sessions.ExitCode, Is.Zero, sessions.ToString());
            using var list = JsonDocument.Parse(sessions.Output);
            Assert.That(list.RootElement.GetArrayLength(), Is.EqualTo(1));
            Assert.That(list.RootElement[0].GetProperty("entryCount").GetInt64(), Is.GreaterThan(40));
            Assert.That(show.ExitCode, Is.Zero, show.ToString());
            Assert.That(show.Output, Does.Contain("run g1 in session").And.Contain("g1 started"));
            Assert.That(recent.ExitCode, Is.Zero, recent.ToString());
            Assert.That(bad.ExitCode, Is.EqualTo(2), bad.ToString());
            Assert.That(bad.Error, Does.Contain("is not valid tsquery syntax").And.Contain("drop --fts"));
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task DurableRun_Resume_RerunAndShow_WorkOnPostgres(CancellationToken cancellationToken)
    {
        var database = await PostgresSetUp.Server.CreateDatabaseAsync("clidurable", cancellationToken);
        var run = await RunCliAsync(cancellationToken, "run", "--count", "60", "--durable", "--db", database);
        Assert.That(run.ExitCode, Is.EqualTo(1), "the sample fails some orders on purpose: " + run);

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(cancellationToken);
        await using var query = new NpgsqlCommand("SELECT count(*) FILTER (WHERE state = 'Failed'), count(*), min(run_id) FROM dataflow.durable_runs", connection);
        long failed;
        long total;
        string someRun;
        await using (var reader = await query.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            (failed, total, someRun) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2));
        }

        var resume = await RunCliAsync(cancellationToken, "resume", "--db", database);
        var rerun = await RunCliAsync(cancellationToken, "rerun", "--failed", "--db", database);
        var show = await RunCliAsync(cancellationToken, "show", someRun, "--db", database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(total, Is.EqualTo(60), "every run of the batch is in the checkpoint tables");
            Assert.That(failed, Is.GreaterThan(0));
            Assert.That(resume.ExitCode, Is.Zero, resume.ToString());
            Assert.That(resume.Output, Does.Contain("durable: 0 runs resumed, 60 finished earlier"));
            Assert.That(rerun.Output, Does.Contain($"{failed} rerun"), rerun.ToString());
            Assert.That(show.ExitCode, Is.Zero, show.ToString());
            Assert.That(show.Output, Does.Contain("checkpoint").IgnoreCase);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Submit_Workers_Status_RunAJobToTheEnd_OnPostgres(CancellationToken cancellationToken)
    {
        var database = await PostgresSetUp.Server.CreateDatabaseAsync("clijobs", cancellationToken);
        var submit = await RunCliAsync(cancellationToken, "submit", "--count", "200", "--job", "orders", "--db", database);
        var again = await RunCliAsync(cancellationToken, "submit", "--count", "1", "--job", "orders", "--db", database);
        var before = await RunCliAsync(cancellationToken, "status", "--job", "orders", "--db", database);
        var workers = await Task.WhenAll(
            RunCliAsync(cancellationToken, "worker", "--job", "orders", "--claim-batch", "4", "--db", database),
            RunCliAsync(cancellationToken, "worker", "--claim-batch", "4", "--db", database));
        var after = await RunCliAsync(cancellationToken, "status", "--json", "--db", database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(submit.ExitCode, Is.Zero, submit.ToString());
            Assert.That(submit.Output, Does.Contain("job 'orders': 200 inputs of sample (Order) queued"));
            Assert.That(again.ExitCode, Is.EqualTo(2), again.ToString());
            Assert.That(again.Error, Does.Contain("already has a job named 'orders'"));
            Assert.That(before.Output, Does.Contain("200 inputs: 200 queued, 0 leased, 0 done"), before.ToString());
            // The sample fails some orders on purpose; a worker exits 1 exactly when some of its own runs failed (how
            // many each one gets depends on when it starts).
            Assert.That(workers.Select(w => w.ExitCode), Is.EqualTo(workers.Select(w => FailedRuns(w.Output) > 0 ? 1 : 0)), string.Join(" | ", workers));
            Assert.That(workers.Sum(w => FailedRuns(w.Output)), Is.GreaterThan(0), string.Join(" | ", workers));
            Assert.That(workers.Select(w => w.Output), Is.All.Contain("given back to the queue"));
            Assert.That(after.ExitCode, Is.Zero, after.ToString());
            using var status = JsonDocument.Parse(after.Output);
            var job = status.RootElement[0];
            Assert.That(job.GetProperty("finished").GetBoolean(), Is.True);
            Assert.That(job.GetProperty("done").GetInt64() + job.GetProperty("failed").GetInt64(), Is.EqualTo(200));
            Assert.That(job.GetProperty("failed").GetInt64(), Is.GreaterThan(0));
            Assert.That(job.GetProperty("workers").GetArrayLength(), Is.EqualTo(2));
            Assert.That(job.GetProperty("workers").EnumerateArray().Sum(w => w.GetProperty("done").GetInt64()), Is.EqualTo(job.GetProperty("done").GetInt64()));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task QueueCommands_RefuseBadArguments_NamingTheOption(CancellationToken cancellationToken)
    {
        var sqlite = await RunCliAsync(cancellationToken, "submit", "--count", "3", "--db", Path.Combine(Path.GetTempPath(), "x.db"));
        var lease = await RunCliAsync(cancellationToken, "worker", "--lease", "-1", "--claim-batch", "0", "--max-attempts", "0", "--db", _keywords);
        var job = await RunCliAsync(cancellationToken, "status", "--job", "bad\u001bname", "--db", _keywords);
        var unknown = await RunCliAsync(cancellationToken, "status", "--job", "no-such-job", "--db", _keywords);
        var noJob = await RunCliAsync(cancellationToken, "worker", "--job", "no-such-job", "--db", _keywords);
        var sessions = await RunCliAsync(cancellationToken, "sessions", "--json", "--db", _keywords);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sqlite.ExitCode, Is.EqualTo(2));
            Assert.That(sqlite.Error, Does.Contain("--db must be a PostgreSQL connection string").And.Contain("for `dataflow submit`"));
            Assert.That(lease.ExitCode, Is.EqualTo(2));
            Assert.That(lease.Error, Does.Contain("--lease must be").And.Contain("--claim-batch must be").And.Contain("--max-attempts must be"));
            Assert.That(job.ExitCode, Is.EqualTo(2));
            Assert.That(job.Error, Does.Contain("--job must be"));
            Assert.That(unknown.ExitCode, Is.EqualTo(2));
            Assert.That(unknown.Error, Does.Contain("no job named 'no-such-job'"));
            Assert.That(noJob.ExitCode, Is.EqualTo(2), noJob.ToString());
            Assert.That(noJob.Error, Does.Contain("no job named 'no-such-job'"));
            Assert.That(sessions.Output, Does.Not.Contain("\"worker\""), "a refused worker opened no session");
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task UnknownDatabaseOrEmptySchema_IsAMessage_WithoutThePassword(CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(_keywords);
        var missing = $"postgresql://{builder.Username}:hunter2@/no_such_db?host={Uri.EscapeDataString(builder.Host!)}&port={builder.Port}";
        var unknown = await RunCliAsync(cancellationToken, "sessions", "--db", missing);
        var empty = await RunCliAsync(cancellationToken, "recent", "--db", await PostgresSetUp.Server.CreateDatabaseAsync("empty", cancellationToken));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unknown.ExitCode, Is.EqualTo(2), unknown.ToString());
            Assert.That(unknown.Error, Does.Contain("no_such_db").And.Contain("does not exist").And.Not.Contain("hunter2"));
            Assert.That(empty.ExitCode, Is.EqualTo(2), empty.ToString());
            Assert.That(empty.Error, Does.Contain("No session store in the schema 'dataflow'"));
        }
    }

    private static async Task<Result> RunCliAsync(CancellationToken cancellationToken, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await Cli.Cli.RunAsync(args, output, error, cancellationToken);
        return new Result(exit, output.ToString(), error.ToString());
    }

    /// <summary>The failed runs a worker's summary line reports ("worker w: 182 done, 10 failed, …").</summary>
    private static long FailedRuns(string output)
    {
        var match = System.Text.RegularExpressions.Regex.Match(output, @": \d+ done, (\d+) failed,");
        Assert.That(match.Success, Is.True, $"no summary line in: {output}");
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed record Result(int ExitCode, string Output, string Error);
}

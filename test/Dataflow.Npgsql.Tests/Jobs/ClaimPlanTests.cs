using System.Text.Json;
using Dapper;
using Dataflow.Graphs;
using Dataflow.Npgsql.Jobs;
using Npgsql;

namespace Dataflow.Npgsql.Tests.Jobs;

/// <summary>
/// A claim takes the oldest queued inputs of a job and reads no more than it takes, also once the server keeps one
/// generic plan for the prepared claim and the table has statistics (as every table autovacuum has analyzed), and even
/// from the bottom of the queue (no frontier). Before schema version 6 and the update by an array of ids, that plan
/// could read and sort every queued input of the job (seen on the bench's analyzed queue) or hash the whole table to
/// update the rows it locked (this test: 10,000 rows read to claim 16). And a worker's frontier keeps a claim from
/// passing the finished inputs whatever index the server picks, without losing inputs given back below it.
/// </summary>
public sealed class ClaimPlanTests
{
    private const int Queued = 4_000;

    private const int Limit = 16;

    [Test]
    public async Task ClaimOnAnAnalyzedQueue_WithTheGenericPlan_ReadsTheOldestQueuedInputsInIdOrder_AndNoMore()
    {
        var database = await PostgresSetUp.Server.CreateDatabaseAsync("claimplan");
        var graph = Graph.Create<PlanItem>();
        await using var queue = await JobQueue.OpenAsync(database);

        // Finished jobs beside the one being worked, as a queue looks after a while.
        foreach (var done in new[] { "done-1", "done-2", "done-3" })
        {
            await queue.SubmitAsync(done, graph, Enumerable.Range(0, 2_000).Select(i => (INode)new PlanItem(i)));
        }

        await queue.SubmitAsync("open", graph, Enumerable.Range(0, Queued).Select(i => (INode)new PlanItem(i)));
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await connection.ExecuteAsync("UPDATE dataflow.job_items SET state = 'done', finished_at = now() WHERE job LIKE 'done-%'");
        await connection.ExecuteAsync("ANALYZE dataflow.job_items");

        // The statement a worker runs, prepared and planned generically, as the server plans it after a few calls.
        var statement = queue.ClaimQueuedStatement("i.job = @Job")
            .Replace("@Job", "$1", StringComparison.Ordinal).Replace("@Count", "$2", StringComparison.Ordinal)
            .Replace("@Worker", "$3", StringComparison.Ordinal).Replace("@LeaseMs", "$4", StringComparison.Ordinal)
            .Replace("@After", "$5", StringComparison.Ordinal);
        await using var transaction = await connection.BeginTransactionAsync();
        await connection.ExecuteAsync("SET LOCAL plan_cache_mode = force_generic_plan", transaction: transaction);
        await connection.ExecuteAsync($"PREPARE claim (text, integer, text, double precision, bigint) AS {statement}", transaction: transaction);
        var plan = JsonDocument.Parse(await connection.ExecuteScalarAsync<string>(
            $"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE claim ('open', {Limit}, 'w', 60000, 0)", transaction: transaction) ?? "[]");
        var claimed = (await connection.QueryAsync<long>("SELECT line FROM dataflow.job_items WHERE job = 'open' AND state = 'leased' ORDER BY line", transaction: transaction)).ToList();
        await transaction.RollbackAsync();

        var nodes = Nodes(plan.RootElement[0].GetProperty("Plan")).ToList();
        var scans = nodes.Where(n => n.GetProperty("Node Type").GetString()!.Contains("Scan", StringComparison.Ordinal) && n.TryGetProperty("Relation Name", out var r) && r.GetString() == "job_items").ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(claimed, Is.EqualTo(Enumerable.Range(1, Limit).Select(i => (long)i)), "the oldest queued inputs of the job, and only those");
            Assert.That(nodes.Select(n => n.GetProperty("Node Type").GetString()), Has.None.EqualTo("Sort"), plan.RootElement.ToString());
            Assert.That(scans.Select(n => n.GetProperty("Actual Rows").GetDouble() * n.GetProperty("Actual Loops").GetDouble()), Has.All.LessThanOrEqualTo(Limit), plan.RootElement.ToString());
        }
    }

    [Test]
    public async Task ClaimAboveTheFrontier_TakesInputsGivenBackBelowIt_OnceTheInputsAboveRunShort()
    {
        var database = await PostgresSetUp.Server.CreateDatabaseAsync("frontier");
        var graph = Graph.Create<PlanItem>();
        var id = JobQueue.GraphId(graph);
        await using var queue = await JobQueue.OpenAsync(database);
        await queue.SubmitAsync("job", graph, Enumerable.Range(0, 10).Select(i => (INode)new PlanItem(i)));
        var first = await queue.ClaimAsync("a", id, "job", 4, TimeSpan.FromMinutes(5), maxAttempts: 5, expired: false, after: 0, CancellationToken.None);

        // Two of them given back to the queue, as a draining worker gives back what it did not start.
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.ExecuteAsync("UPDATE dataflow.job_items SET state = 'queued', worker = NULL, lease_expires = NULL WHERE id = ANY (@Ids)", new { Ids = new[] { first[0].Id, first[1].Id } });
        }

        var frontier = first.Max(c => c.Id);
        var above = await queue.ClaimAsync("a", id, "job", 3, TimeSpan.FromMinutes(5), maxAttempts: 5, expired: false, after: frontier, CancellationToken.None);
        var rest = await queue.ClaimAsync("a", id, "job", 10, TimeSpan.FromMinutes(5), maxAttempts: 5, expired: false, after: above.Max(c => c.Id), CancellationToken.None);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Select(c => c.Line), Is.EqualTo(new long[] { 1, 2, 3, 4 }));
            Assert.That(above.Select(c => c.Line), Is.EqualTo(new long[] { 5, 6, 7 }), "above the frontier first, in id order");
            Assert.That(rest.Select(c => c.Line), Is.EquivalentTo(new long[] { 8, 9, 10, 1, 2 }), "then, running short, the inputs given back below it");
        }
    }

    [Test]
    public async Task WithoutAJob_ClaimsTheGraphsOpenJobsOldestFirst_EachInIdOrder_ThenInputsGivenBackBelowTheFrontier()
    {
        // A worker without --job claims job by job through the statement the first test plans (one job's index in id
        // order), not over every job at once, which no index holds in id order.
        var database = await PostgresSetUp.Server.CreateDatabaseAsync("claimjobs");
        var graph = Graph.Create<PlanItem>();
        var id = JobQueue.GraphId(graph);
        await using var queue = await JobQueue.OpenAsync(database);
        await queue.SubmitAsync("finished", graph, Enumerable.Range(0, 3).Select(i => (INode)new PlanItem(i)));
        await queue.SubmitAsync("older", graph, Enumerable.Range(0, 5).Select(i => (INode)new PlanItem(i)));
        await queue.SubmitAsync("newer", graph, Enumerable.Range(0, 5).Select(i => (INode)new PlanItem(i)));
        await using var connection = new NpgsqlConnection(database);
        await connection.ExecuteAsync("UPDATE dataflow.job_items SET state = 'done', finished_at = now() WHERE job = 'finished'");

        // Every statement the claims send (Npgsql traces each command with its text).
        var statements = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Npgsql", StringComparison.Ordinal),
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                foreach (var tag in activity.TagObjects)
                {
                    if (tag.Value is string text && text.Contains("job_items", StringComparison.Ordinal))
                    {
                        statements.Enqueue(text);
                    }
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        var first = await queue.ClaimAsync("a", id, null, 7, TimeSpan.FromMinutes(5), maxAttempts: 5, expired: false, after: 0, CancellationToken.None);
        var givenBack = first.Single(c => c.Job == "older" && c.Line == 2);
        await connection.ExecuteAsync("UPDATE dataflow.job_items SET state = 'queued', worker = NULL, lease_expires = NULL WHERE id = @Id", new { givenBack.Id });
        var rest = await queue.ClaimAsync("a", id, null, 10, TimeSpan.FromMinutes(5), maxAttempts: 5, expired: false, after: first.Max(c => c.Id), CancellationToken.None);
        var empty = await queue.ClaimAsync("a", id, null, 10, TimeSpan.FromMinutes(5), maxAttempts: 5, expired: false, after: rest.Max(c => c.Id), CancellationToken.None);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Select(c => $"{c.Job}:{c.Line}"), Is.EqualTo(new[] { "older:1", "older:2", "older:3", "older:4", "older:5", "newer:1", "newer:2" }), "the older job's inputs first, in order, then the newer's");
            Assert.That(rest.Select(c => $"{c.Job}:{c.Line}"), Is.EqualTo(new[] { "newer:3", "newer:4", "newer:5", "older:2" }), "above the frontier first, then the input given back below it");
            Assert.That(empty, Is.Empty, "nothing queued is left, and nothing of the finished job is claimed");
            var claims = statements.Where(t => t.Contains("i.state = 'queued'", StringComparison.Ordinal) && t.Contains("FOR UPDATE SKIP LOCKED", StringComparison.Ordinal)).ToList();
            Assert.That(claims, Is.Not.Empty, "the claims' statements were seen");
            Assert.That(claims, Has.All.EqualTo(queue.ClaimQueuedStatement("i.job = @Job")), "each claim of queued inputs is one job's, the statement whose plan the first test checks");
        }
    }

    private static IEnumerable<JsonElement> Nodes(JsonElement node)
    {
        yield return node;
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray().SelectMany(Nodes))
            {
                yield return child;
            }
        }
    }

    public sealed record PlanItem(int Id) : INode;
}

using Dapper;
using Dataflow.Events;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

/// <summary>Schema v4 and <see cref="SessionHistory.RunsAsync"/>: a session's runs from their start and end entries, filtered and keyset-paged on indexes.</summary>
public sealed class RunListTests : StoreTestBase
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task Runs_NewestFirst_WithStateTimesNodeAndError()
    {
        var session = await WriteRunsAsync();
        using var history = SessionHistory.Open(DbPath);

        var runs = await ListAsync(history, session, new RunQuery());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs.Select(r => r.RunId), Is.EqualTo(new[] { "g4", "g3", "g2", "g1" }));
            Assert.That(runs.Select(r => r.State), Is.EqualTo(new[] { StoredRunState.Cancelled, StoredRunState.Unfinished, StoredRunState.Failed, StoredRunState.Done }));
            var failed = runs[2];
            Assert.That(failed.Node, Is.EqualTo("B"));
            Assert.That(failed.Error, Is.EqualTo("InvalidOperationException: no"));
            Assert.That(failed.DurationMs, Is.EqualTo(20));
            Assert.That(failed.StartedAt, Is.EqualTo(T0.AddSeconds(2)));
            Assert.That(failed.EndedAt, Is.EqualTo(T0.AddSeconds(2).AddMilliseconds(20)));
            Assert.That(failed.Input, Is.EqualTo("g2 started: Order { Id = 2 }"));
            Assert.That(runs[1].EndedAt, Is.Null);
        }
    }

    [Test]
    public async Task Filters_ByState_EndNode_AndTime()
    {
        var session = await WriteRunsAsync();
        using var history = SessionHistory.Open(DbPath);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await IdsAsync(history, session, new RunQuery { State = StoredRunState.Failed }), Is.EqualTo(new[] { "g2" }));
            Assert.That(await IdsAsync(history, session, new RunQuery { State = StoredRunState.Done }), Is.EqualTo(new[] { "g1" }));
            Assert.That(await IdsAsync(history, session, new RunQuery { State = StoredRunState.Unfinished }), Is.EqualTo(new[] { "g3" }));
            Assert.That(await IdsAsync(history, session, new RunQuery { State = StoredRunState.Cancelled }), Is.EqualTo(new[] { "g4" }));
            Assert.That(await IdsAsync(history, session, new RunQuery { Node = "B" }), Is.EqualTo(new[] { "g2" }));
            Assert.That(await IdsAsync(history, session, new RunQuery { Node = "B", State = StoredRunState.Done }), Is.Empty);
            Assert.That(await IdsAsync(history, session, new RunQuery { Since = T0.AddSeconds(2), Until = T0.AddSeconds(3) }), Is.EqualTo(new[] { "g3", "g2" }));
            Assert.That(await IdsAsync(history, "other", new RunQuery()), Is.Empty);
        }
    }

    [Test]
    public async Task Pages_FollowTheCursor_WithoutRepeatsOrGaps()
    {
        var session = await WriteRunsAsync();
        using var history = SessionHistory.Open(DbPath);
        var seen = new List<string>();
        long? before = null;
        while (true)
        {
            var page = await ListAsync(history, session, new RunQuery { Limit = 3, Before = before });
            seen.AddRange(page.Select(r => r.RunId));
            if (page.Count < 3)
            {
                break;
            }

            before = page[^1].Cursor;
        }

        Assert.That(seen, Is.EqualTo(new[] { "g4", "g3", "g2", "g1" }));
    }

    [Test]
    public async Task Durations_WholeAndFractional_ReadInOnePage_InEitherOrder()
    {
        // JSON keeps 40 as an integer and 12.5 as a real; a page must read both, whichever comes first
        // (the dashboard's runs page once failed on a whole duration after a fractional one).
        var store = Open();
        var sink = new StoreEventSink(store);
        var durations = new[] { 40, 12.5, 7, 0.25 };
        for (var i = 0; i < durations.Length; i++)
        {
            var run = $"g{i + 1}";
            await sink.WriteAsync(new GraphEvent(run, EventKind.Start, run + " started", T0.AddSeconds(i), 1) { Node = "A" }, CancellationToken.None);
            await sink.WriteAsync(new GraphEvent(run, EventKind.Complete, run + " done", T0.AddSeconds(i + 0.5), 2) { Node = "A", DurationMs = durations[i] }, CancellationToken.None);
        }

        await store.FlushAsync().WaitAsync(Guard);
        using var history = SessionHistory.Open(DbPath);

        var newestFirst = await ListAsync(history, store.SessionId, new RunQuery());
        var fromTheWhole = await ListAsync(history, store.SessionId, new RunQuery { Before = newestFirst[1].Cursor });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(newestFirst.Select(r => r.DurationMs), Is.EqualTo(new double?[] { 0.25, 7, 12.5, 40 }));
            Assert.That(fromTheWhole.Select(r => r.DurationMs), Is.EqualTo(new double?[] { 12.5, 40 }));
        }
    }

    [Test]
    public void InvalidQuery_NamesEveryProblem()
    {
        Open();
        using var history = SessionHistory.Open(DbPath);
        var query = new RunQuery { Limit = 0, Before = 0, Node = "A", State = StoredRunState.Unfinished, Since = T0.AddHours(1), Until = T0 };

        var error = Assert.Throws<ArgumentException>(() => history.RunsAsync("s", query));

        Assert.That(error!.Message, Does.Contain("Limit must be from 1 to 10000, was 0").And.Contain("Before must be a positive cursor").And.Contain("unfinished runs have not ended").And.Contain("is after Until"));
    }

    [TestCase(null, null)]
    [TestCase(StoredRunState.Failed, null)]
    [TestCase(null, "B")]
    [TestCase(StoredRunState.Unfinished, null)]
    public void EveryPage_IsAnIndexRange_NeverAScan(StoredRunState? state, string? node)
    {
        Open();
        var (sql, _) = HistoryQueries.RunsQuery("s", new RunQuery { State = state, Node = node, Before = 10 });
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        var plan = connection.Query("EXPLAIN QUERY PLAN " + sql.Replace("@", ":", StringComparison.Ordinal)).Select(row => (string)((IDictionary<string, object>)row)["detail"]).ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(plan, Has.None.Contains("SCAN"), string.Join(" | ", plan));
            Assert.That(plan, Has.None.Contains("TEMP B-TREE"), "no sort: the index gives the order");
            Assert.That(plan, Has.Some.Contains(node is null ? "idx_entries_session_event" : "idx_entries_session_end_node"));
            Assert.That(plan, Has.Some.Contains("idx_entries_run"), "the other end of each run is found through the run index");
        }
    }

    [Test]
    public async Task MigrationFromVersion3_AddsTheRunListIndexes()
    {
        var old = Open();
        await old.DisposeAsync();
        DowngradeToVersion3();

        Open();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar("PRAGMA user_version"), Is.EqualTo(Schema.CurrentVersion));
            Assert.That(Scalar("SELECT count(*) FROM sqlite_master WHERE name IN ('idx_entries_session_event', 'idx_entries_session_end_node')"), Is.EqualTo(2));
            Assert.That(Scalar("SELECT count(*) FROM sqlite_master WHERE name = 'idx_entries_session'"), Is.Zero);
        }
    }

    /// <summary>g1 done at C, g2 failed at B, g3 unfinished, g4 cancelled; a second session has a g1 of its own.</summary>
    private async Task<string> WriteRunsAsync()
    {
        var store = Open();
        var sink = new StoreEventSink(store);
        async Task Write(string run, EventKind kind, double seconds, string content, string? node = null, double? duration = null, string? error = null)
            => await sink.WriteAsync(new GraphEvent(run, kind, content, T0.AddSeconds(seconds), 1) { Node = node, NextNode = kind == EventKind.Transition ? "B" : null, DurationMs = duration, Error = error, Graph = "Order" }, CancellationToken.None);

        await Write("g1", EventKind.Start, 1, "g1 started: Order { Id = 1 }", "Order");
        await Write("g1", EventKind.Transition, 1.01, "g1 A -> B", "A");
        await Write("g1", EventKind.Complete, 1.02, "g1 done", "C", 20);
        await Write("g2", EventKind.Start, 2, "g2 started: Order { Id = 2 }", "Order");
        await Write("g2", EventKind.Fail, 2.02, "g2 failed", "B", 20, "InvalidOperationException: no");
        await Write("g3", EventKind.Start, 3, "g3 started: Order { Id = 3 }", "Order");
        await Write("g4", EventKind.Start, 4, "g4 started: Order { Id = 4 }", "Order");
        await Write("g4", EventKind.Cancel, 4.5, "g4 cancelled", "A", 500, "OperationCanceledException: cancelled");
        await store.FlushAsync().WaitAsync(Guard);

        var other = Open();
        await new StoreEventSink(other).WriteAsync(new GraphEvent("g1", EventKind.Start, "g1 started: elsewhere", T0, 1), CancellationToken.None);
        await other.FlushAsync().WaitAsync(Guard);
        return store.SessionId;
    }

    private static async Task<List<RunSummary>> ListAsync(SessionHistory history, string session, RunQuery query)
    {
        var runs = new List<RunSummary>();
        await foreach (var run in history.RunsAsync(session, query))
        {
            runs.Add(run);
        }

        return runs;
    }

    private static async Task<List<string>> IdsAsync(SessionHistory history, string session, RunQuery query)
        => [.. (await ListAsync(history, session, query)).Select(r => r.RunId)];
}

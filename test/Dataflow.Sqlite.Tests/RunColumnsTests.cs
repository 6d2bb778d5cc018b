using Dapper;
using Dataflow.Events;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

/// <summary>Schema v3: run id and event kind in indexed columns, filled from the seam, backfilled for old rows, used by reads and filters.</summary>
public sealed class RunColumnsTests : StoreTestBase
{
    [Test]
    public async Task Migration_BackfillsRunIdAndEvent_FromMetadataOfOldRows()
    {
        var old = Open();
        await old.RecordAsync("GRAPH", "graph", "output", "g1 started", new Dictionary<string, object?> { ["run_id"] = "g1", ["event"] = "start" });
        await old.RecordAsync("GRAPH", "graph", "output", "plain note");
        await old.DisposeAsync();
        DowngradeToVersion2();
        Scalar("UPDATE entries SET metadata = 'not json' WHERE content = 'plain note'");

        var store = Open();
        var entries = store.SessionEntries(old.SessionId);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar("PRAGMA user_version"), Is.EqualTo(Schema.CurrentVersion));
            Assert.That(entries[0].RunId, Is.EqualTo("g1"));
            Assert.That(entries[0].Event, Is.EqualTo("start"));
            Assert.That(entries[1].RunId, Is.Null);
            Assert.That(store.SessionEntries(old.SessionId, "g1").Select(e => e.Content), Is.EqualTo(new[] { "g1 started" }));
        }
    }

    [Test]
    public async Task Seam_FillsColumns_AndReadsAndFiltersUseThem()
    {
        var store = Open();
        var now = DateTimeOffset.UtcNow;
        var sink = new StoreEventSink(store);
        await sink.WriteAsync(new GraphEvent("g1", EventKind.Start, "g1 started order 1234", now, 1), CancellationToken.None);
        await sink.WriteAsync(new GraphEvent("g1", EventKind.Transition, "g1 A -> B order 1234", now, 2), CancellationToken.None);
        await sink.WriteAsync(new GraphEvent("g2", EventKind.Transition, "g2 A -> B order 1234", now, 1), CancellationToken.None);
        await store.RecordAsync(new StoreRecord(now, "GRAPH", "graph", "output", "kindless order 1234") { RunId = "g2" });
        await store.FlushAsync().WaitAsync(Guard);

        var runOne = store.SessionEntries(store.SessionId, "g1");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(runOne.Select(e => (e.RunId, e.Event)), Is.EqualTo(new[] { ("g1", "start"), ("g1", "transition") }));
            Assert.That(runOne[0].Timestamp, Is.EqualTo(now).Within(TimeSpan.FromMilliseconds(1)));
            Assert.That(store.Search("1234", new SearchOptions { Event = "transition" }).Select(e => e.Content), Is.EqualTo(new[] { "g2 A -> B order 1234", "g1 A -> B order 1234" }));
            Assert.That(store.Search("1234", new SearchOptions { Event = "TRANSITION", RunId = "g1" }).Select(e => e.Content), Is.EqualTo(new[] { "g1 A -> B order 1234" }));
            Assert.That(store.Search("1234", new SearchOptions { RunId = "g2" }), Has.Count.EqualTo(2));
            Assert.That(store.SessionOfRun("g2"), Is.EqualTo(store.SessionId));
            Assert.That(store.SessionOfRun("g404"), Is.Null);
        }
    }

    [Test]
    public void RunLookups_UseTheRunIndex_NotAScan()
    {
        Open();
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();

        var sessionOfRun = string.Join(" | ", Plan(connection, "SELECT session_id FROM entries WHERE run_id = 'x' ORDER BY id DESC LIMIT 1"));
        var entriesOfRun = string.Join(" | ", Plan(connection, "SELECT * FROM entries e WHERE e.session_id = 's' AND e.run_id = 'x' ORDER BY e.id"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(sessionOfRun, Does.Contain("idx_entries_run").And.Not.Contain("SCAN"));
            Assert.That(entriesOfRun, Does.Contain("idx_entries_run"));
        }
    }

    private static IEnumerable<string> Plan(SqliteConnection connection, string sql)
        => connection.Query("EXPLAIN QUERY PLAN " + sql).Select(row => (string)((IDictionary<string, object>)row)["detail"]);

    [Test]
    public async Task Search_NulInQuery_IsASeparator_AsInTheIndex()
    {
        var store = Open();
        await store.RecordAsync("M", "c", "output", "alpha\0beta");
        await store.RecordAsync("M", "c", "output", "alphabeta");
        await store.FlushAsync().WaitAsync(Guard);

        Assert.That(store.Search("alpha\0beta").Select(e => e.Content), Is.EqualTo(new[] { "alpha\0beta" }));
    }
}

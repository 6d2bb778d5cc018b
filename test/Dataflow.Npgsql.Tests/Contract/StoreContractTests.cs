using Dataflow.Storage;

namespace Dataflow.Npgsql.Tests.Contract;

/// <summary>
/// What every store backend promises, run against each one (the subclasses below): entries written through the store
/// seam come back in order once flushed, search finds them newest first or ranked with filters and snippets, sessions
/// do not mix, and a newer schema or someone else's tables are refused before anything is written.
/// </summary>
public abstract class StoreContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    protected StoreBackend Backend { get; set; } = null!;

    [Test]
    public async Task WrittenEntries_AfterFlush_ReadBackInOrderWithEveryField()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await store.Entries.RecordAsync(new StoreRecord(T0, "GRAPH", "graph", "output", "g1 started: Order { Id = 1234 }") { RunId = "g1", Event = "start" });
        await store.Entries.RecordAsync(new StoreRecord(T0.AddSeconds(1), "GRAPH", "graph", "output", "g1 transition Fetch -> Parse") { RunId = "g1", Event = "transition" });
        await store.Entries.RecordAsync(new StoreRecord(T0.AddSeconds(2), "USER", "notes", "input", "no run here"));
        await store.FlushAsync();

        var entries = await store.SessionEntriesAsync(store.SessionId);

        Assert.That(entries.Select(e => e.Content), Is.EqualTo(new[] { "g1 started: Order { Id = 1234 }", "g1 transition Fetch -> Parse", "no run here" }));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entries.Select(e => e.Timestamp), Is.EqualTo(new[] { T0, T0.AddSeconds(1), T0.AddSeconds(2) }));
            Assert.That(entries.Select(e => e.RunId), Is.EqualTo(new[] { "g1", "g1", null }));
            Assert.That(entries.Select(e => e.Event), Is.EqualTo(new[] { "start", "transition", null }));
            Assert.That(entries.Select(e => e.Channel), Is.EqualTo(new[] { "graph", "graph", "notes" }));
            Assert.That(entries.Select(e => e.Id), Is.Ordered.Ascending);
            Assert.That(await store.SessionEntriesAsync(store.SessionId, "g1"), Has.Count.EqualTo(2));
        }
    }

    [Test]
    public async Task Search_FindsEveryWord_NewestFirst_WithHighlightedSnippet()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await RecordAsync(store, "order 1 shipped to Oslo", "order 2 failed: fraud suspected", "order 3 shipped to Lima", "unrelated line");
        await store.FlushAsync();

        var hits = await store.SearchAsync(new Query("order shipped"));

        Assert.That(hits.Select(h => h.Content), Is.EqualTo(new[] { "order 3 shipped to Lima", "order 1 shipped to Oslo" }));
        Assert.That(hits[0].Snippet, Does.Contain("[shipped]").And.Contain("[order]"));
    }

    [Test]
    public async Task Search_TrailingStar_IsAPrefix_AndOtherSyntaxIsLiteral()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await RecordAsync(store, "payment declined", "paying customer", "nothing else");
        await store.FlushAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That((await store.SearchAsync(new Query("pay*"))).Select(h => h.Content), Is.EquivalentTo(new[] { "payment declined", "paying customer" }));
            Assert.That(await store.SearchAsync(new Query("pay")), Is.Empty);
            Assert.That(await store.SearchAsync(new Query("payment OR nothing")), Is.Empty, "OR is a word to find, not an operator");
            Assert.That(await store.SearchAsync(new Query("\"payment\" & (declined | !")), Has.Count.EqualTo(1));
            Assert.That(await store.SearchAsync(new Query("*** ::: \"")), Is.Empty);
        }
    }

    [Test]
    public async Task Search_Filters_BySessionChannelRunEventAndTime()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await using var other = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await store.Entries.RecordAsync(new StoreRecord(T0, "GRAPH", "graph", "output", "alpha one") { RunId = "g1", Event = "start" });
        await store.Entries.RecordAsync(new StoreRecord(T0.AddMinutes(1), "GRAPH", "graph", "output", "alpha two") { RunId = "g2", Event = "fail" });
        await store.Entries.RecordAsync(new StoreRecord(T0.AddMinutes(2), "USER", "notes", "input", "alpha three"));
        await store.FlushAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Contents(await store.SearchAsync(new Query("alpha") { Channel = "notes" })), Is.EqualTo(new[] { "alpha three" }));
            Assert.That(Contents(await store.SearchAsync(new Query("alpha") { RunId = "g2" })), Is.EqualTo(new[] { "alpha two" }));
            Assert.That(Contents(await store.SearchAsync(new Query("alpha") { Event = "START" })), Is.EqualTo(new[] { "alpha one" }));
            Assert.That(Contents(await store.SearchAsync(new Query("alpha") { Since = T0.AddSeconds(30), Until = T0.AddSeconds(90) })), Is.EqualTo(new[] { "alpha two" }));
            Assert.That(Contents(await store.SearchAsync(new Query("alpha") { SessionId = store.SessionId, Limit = 2 })), Is.EqualTo(new[] { "alpha three", "alpha two" }));
            Assert.That(await store.SearchAsync(new Query("alpha") { SessionId = "no such session" }), Is.Empty);
        }
    }

    [Test]
    public async Task Search_Ranked_PutsTheBestMatchFirst()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await RecordAsync(store, "timeout timeout timeout in Charge", "a timeout once, then many other words that dilute the match entirely", "no match");
        await store.FlushAsync();

        var ranked = await store.SearchAsync(new Query("timeout") { Rank = true });

        Assert.That(ranked.Select(h => h.Content).First(), Is.EqualTo("timeout timeout timeout in Charge"));
    }

    [Test]
    public async Task TwoSessions_OnOneDatabase_DoNotMix()
    {
        var location = await Backend.NewLocationAsync();
        await using var first = await Backend.OpenAsync(location);
        await using var second = await Backend.OpenAsync(location);
        var writes = new List<Task>();
        for (var i = 0; i < 200; i++)
        {
            writes.Add(first.Entries.RecordAsync(new StoreRecord(T0.AddMilliseconds(i), "GRAPH", "graph", "output", $"first {i} shared") { RunId = "g1" }).AsTask());
            writes.Add(second.Entries.RecordAsync(new StoreRecord(T0.AddMilliseconds(i), "GRAPH", "graph", "output", $"second {i} shared") { RunId = "g1" }).AsTask());
        }

        await Task.WhenAll(writes);
        await first.FlushAsync();
        await second.FlushAsync();

        var mine = await first.SessionEntriesAsync(first.SessionId);
        var theirs = await first.SessionEntriesAsync(second.SessionId);
        var sessions = await first.SessionsAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(mine.Select(e => e.Content), Is.EqualTo(Enumerable.Range(0, 200).Select(i => $"first {i} shared")));
            Assert.That(theirs.Select(e => e.Content), Is.EqualTo(Enumerable.Range(0, 200).Select(i => $"second {i} shared")));
            Assert.That(mine.Concat(theirs).Select(e => e.Id).Distinct().Count(), Is.EqualTo(400));
            Assert.That(sessions, Is.EquivalentTo(new[] { (first.SessionId, 200L), (second.SessionId, 200L) }));
            Assert.That((await first.SearchAsync(new Query("shared") { SessionId = second.SessionId, Limit = 1000 })).Select(h => h.SessionId).Distinct(), Is.EqualTo(new[] { second.SessionId }));
            Assert.That(await first.SessionOfRunAsync("g1"), Is.AnyOf(first.SessionId, second.SessionId));
            Assert.That(await first.SessionOfRunAsync("g404"), Is.Null);
        }
    }

    [Test]
    public async Task Recent_IsNewestFirst_AcrossSessions()
    {
        var location = await Backend.NewLocationAsync();
        await using var first = await Backend.OpenAsync(location);
        await RecordAsync(first, "one", "two");
        await first.FlushAsync();
        await using var second = await Backend.OpenAsync(location);
        await RecordAsync(second, "three");
        await second.FlushAsync();

        Assert.That(Contents(await first.RecentAsync(2)), Is.EqualTo(new[] { "three", "two" }));
    }

    [Test]
    public async Task NewerSchema_IsRefused()
    {
        var location = await Backend.NewLocationAsync();
        await (await Backend.OpenAsync(location)).DisposeAsync();
        await Backend.BumpSchemaVersionAsync(location, 99);

        var error = Assert.CatchAsync(async () => await Backend.OpenAsync(location));

        Assert.That(error, Is.TypeOf(Backend.SchemaTooNew));
        Assert.That(error!.Message, Does.Contain("schema version 99").And.Contain("newer Dataflow"));
    }

    [Test]
    public async Task ForeignDatabase_IsRefused_AndLeftUnchanged()
    {
        var location = await Backend.NewLocationAsync();
        await Backend.PlantForeignTableAsync(location);

        var error = Assert.CatchAsync(async () => await Backend.OpenAsync(location));

        Assert.That(error, Is.TypeOf(Backend.NotAStore));
        Assert.That(error!.Message, Does.Contain("not a Dataflow session store").And.Contain("Nothing was written"));
        Assert.That(await Backend.OnlyForeignTableExistsAsync(location), Is.True);
    }

    [Test]
    public async Task HostileContent_IsStoredAndFoundByItsOtherWords()
    {
        await using var store = await Backend.OpenAsync(await Backend.NewLocationAsync());
        await RecordAsync(store, "needle \0 nul \ud800 lone ' quote \" dq \\ backslash \u001b[2J ; DROP TABLE entries; --");
        await store.FlushAsync();

        var hits = await store.SearchAsync(new Query("needle backslash"));

        Assert.That(hits, Has.Count.EqualTo(1));
        Assert.That(hits[0].Content, Does.Contain("DROP TABLE entries; --").And.Contain("\u001b[2J"));
    }

    private static string[] Contents(IEnumerable<Hit> hits) => [.. hits.Select(h => h.Content)];

    private static async Task RecordAsync(StoreUnderTest store, params string[] contents)
    {
        var i = 0;
        foreach (var content in contents)
        {
            await store.Entries.RecordAsync(new StoreRecord(T0.AddSeconds(i++), "GRAPH", "graph", "output", content));
        }
    }
}

/// <summary>The contract on SQLite: a file per test in a temp folder.</summary>
[TestFixture]
public sealed class SqliteStoreContractTests : StoreContractTests
{
    private string _directory = string.Empty;

    [OneTimeSetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "dataflow-contract-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        Backend = new SqliteBackend(_directory);
    }

    [OneTimeTearDown]
    public void DeleteDirectory()
    {
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>The contract on PostgreSQL: a database for the fixture on the assembly's throwaway server, a schema per test.</summary>
[TestFixture]
public sealed class PostgresStoreContractTests : StoreContractTests
{
    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => Backend = new PostgresBackend(await PostgresSetUp.Server.CreateDatabaseAsync("contract"));
}

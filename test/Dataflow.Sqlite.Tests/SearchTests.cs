using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Sqlite.Tests;

public sealed class SearchTests : StoreTestBase
{
    private static readonly string[] HostileQueries =
    [
        "\"", "\"\"", "\"unbalanced", "unbalanced\"", "'", "it's", "(", ")", "(a", "a)", "((a OR b)",
        "AND", "OR", "NOT", "NEAR", "a AND", "OR b", "NOT x", "NEAR(a b)", "NEAR(a b, 2)", "a NEAR/3 b",
        "*", "a*", "*a", "**", "-", "-a", "a -b", "^", "^a", "a^", ":", "content:", "content:a", "col:x",
        "{a b}:c", "+", "a + b", "\0", "a\0b", "\0\0", "🙂", "🙂 ok", "é", "中文", "", " ", "\t\n", "a\"b\"c",
        "\"a\" \"", "x OR", "() AND ()", "a:b:c", "[", "]", "%", "_", "\\", "/", "\\\"", "NOT NOT", "AND OR NOT",
        "'; DROP TABLE entries; --", "\" OR 1=1 --", "rowid:1", "entries_fts:x", "a,b", "a.b", "🙂*",
    ];

    [Test]
    public void HostileQueries_AreMoreThanThirty() => Assert.That(HostileQueries, Has.Length.GreaterThanOrEqualTo(30));

    [Test]
    public async Task Search_PlainText_HostileStrings_NeverThrow([ValueSource(nameof(Ranks))] bool rank)
    {
        var store = Open();
        foreach (var text in HostileQueries)
        {
            store.Record("M", "c", "output", $"stored {text} text");
        }

        await store.FlushAsync().WaitAsync(Guard);
        foreach (var query in HostileQueries)
        {
            Assert.That(() => store.Search(query, new SearchOptions { Rank = rank }), Throws.Nothing, $"query: {query}");
        }

        Assert.That(Scalar("SELECT count(*) FROM entries"), Is.EqualTo(HostileQueries.Length));
    }

    [TestCase("it's", "it's fine")]
    [TestCase("\"quoted", "a \"quoted phrase")]
    [TestCase("(paren)", "with (paren) here")]
    [TestCase("AND", "this AND that")]
    [TestCase("NOT", "NOT today")]
    [TestCase("-minus", "a -minus sign")]
    [TestCase("🙂 happy", "so 🙂 happy")]
    [TestCase("中文", "中文 text")]
    public async Task Search_PlainText_FindsLiteralContent(string query, string content)
    {
        var store = Open();
        store.Record("M", "c", "output", content);
        store.Record("M", "c", "output", "unrelated noise");
        await store.FlushAsync().WaitAsync(Guard);

        var hits = store.Search(query);
        Assert.That(hits.Select(h => h.Content), Is.EqualTo(new[] { content }));
    }

    [Test]
    public async Task Search_Default_IsNewestFirst_WithLimitAndSnippet()
    {
        var store = Open();
        for (var i = 0; i < 30; i++)
        {
            store.Record("M", "c", "output", $"deploy number {i} done");
        }

        await store.FlushAsync().WaitAsync(Guard);
        var hits = store.Search("deploy", new SearchOptions { Limit = 5 });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(hits.Select(h => h.Content), Is.EqualTo(Enumerable.Range(25, 5).Reverse().Select(i => $"deploy number {i} done")));
            Assert.That(hits[0].Snippet, Does.Contain("[deploy]"));
            Assert.That(store.Search("deploy"), Has.Count.EqualTo(20));
        }
    }

    [Test]
    public async Task Search_Ranked_OrdersByRelevance()
    {
        var store = Open();
        store.Record("M", "c", "output", "alpha " + string.Join(' ', Enumerable.Repeat("filler", 50)));
        store.Record("M", "c", "output", "alpha alpha alpha");
        store.Record("M", "c", "output", "beta");
        await store.FlushAsync().WaitAsync(Guard);

        var hits = store.Search("alpha", new SearchOptions { Rank = true, HighlightStart = "<b>", HighlightEnd = "</b>" });
        using (Assert.EnterMultipleScope())
        {
            Assert.That(hits.Select(h => h.Content.Length), Is.Ordered);
            Assert.That(hits, Has.Count.EqualTo(2));
            Assert.That(hits[0].Snippet, Does.Contain("<b>alpha</b>"));
        }
    }

    [Test]
    public async Task Search_PlainTrailingStar_IsAPrefix()
    {
        var store = Open();
        store.Record("M", "c", "output", "deployment finished");
        await store.FlushAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.Search("deploy*"), Has.Count.EqualTo(1));
            Assert.That(store.Search("deploy"), Is.Empty);
        }
    }

    [Test]
    public async Task Search_Fts_UsesOperators()
    {
        var store = Open();
        store.Record("M", "c", "output", "red apple");
        store.Record("M", "c", "output", "green apple");
        store.Record("M", "c", "output", "red car");
        await store.FlushAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.Search("apple NOT green", new SearchOptions { Fts = true }).Select(h => h.Content), Is.EqualTo(new[] { "red apple" }));
            Assert.That(store.Search("car OR green", new SearchOptions { Fts = true }), Has.Count.EqualTo(2));
            Assert.That(store.Search("\"red apple\"", new SearchOptions { Fts = true }), Has.Count.EqualTo(1));
            Assert.That(store.Search("app*", new SearchOptions { Fts = true }), Has.Count.EqualTo(2));
        }
    }

    [TestCase("\"unbalanced")]
    [TestCase("a AND")]
    [TestCase("(a OR b")]
    [TestCase("nosuchcolumn:x")]
    [TestCase("NEAR(")]
    public void Search_Fts_Malformed_ThrowsInvalidSearchQueryNamingIt(string query)
    {
        var store = Open();

        var ex = Assert.Throws<InvalidSearchQueryException>(() => store.Search(query, new SearchOptions { Fts = true }));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.Query, Is.EqualTo(query));
            Assert.That(ex.Message, Does.Contain(query));
            Assert.That(ex, Is.InstanceOf<StoreException>());
        }
    }

    [Test]
    public async Task Search_Filters_BySessionChannelAndTime()
    {
        var time = new ManualTime(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var one = Open(new SessionStoreOptions { TimeProvider = time });
        var two = Open(new SessionStoreOptions { TimeProvider = time });
        one.Record("M", "graph", "output", "token early one");
        time.Advance(TimeSpan.FromHours(1));
        two.Record("M", "debug", "output", "token middle two");
        time.Advance(TimeSpan.FromHours(1));
        one.Record("M", "debug", "output", "token late one");
        await one.FlushAsync().WaitAsync(Guard);
        await two.FlushAsync().WaitAsync(Guard);
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(one.Search("token"), Has.Count.EqualTo(3));
            Assert.That(one.Search("token", new SearchOptions { SessionId = one.SessionId }).Select(h => h.Content), Is.EquivalentTo(new[] { "token early one", "token late one" }));
            Assert.That(one.Search("token", new SearchOptions { Channel = "debug" }), Has.Count.EqualTo(2));
            Assert.That(one.Search("token", new SearchOptions { Since = start.AddMinutes(30) }), Has.Count.EqualTo(2));
            Assert.That(one.Search("token", new SearchOptions { Until = start.AddMinutes(90) }), Has.Count.EqualTo(2));
            Assert.That(one.Search("token", new SearchOptions { Since = start.AddMinutes(30), Until = start.AddMinutes(90), Rank = true }).Select(h => h.Content), Is.EqualTo(new[] { "token middle two" }));
            Assert.That(one.Search("token", new SearchOptions { SessionId = two.SessionId, Channel = "graph" }), Is.Empty);
        }
    }

    [Test]
    public async Task RecentSessionEntriesSessions_SpanSessions()
    {
        var one = Open();
        var two = Open();
        one.Record("M", "c", "output", "one-a");
        await one.FlushAsync().WaitAsync(Guard);
        two.Record("M", "c", "input", "two-a");
        await two.FlushAsync().WaitAsync(Guard);
        one.Record("M", "c", "output", "one-b");
        await one.FlushAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(two.Recent().Select(e => e.Content), Is.EqualTo(new[] { "one-b", "two-a", "one-a" }));
            Assert.That(two.Recent(1).Select(e => e.Content), Is.EqualTo(new[] { "one-b" }));
            Assert.That(two.SessionEntries().Select(e => e.Content), Is.EqualTo(new[] { "two-a" }));
            Assert.That(two.SessionEntries(one.SessionId).Select(e => e.Content), Is.EqualTo(new[] { "one-a", "one-b" }));
            Assert.That(two.Sessions().ToDictionary(s => s.Id, s => s.EntryCount), Is.EquivalentTo(new Dictionary<string, long> { [one.SessionId] = 2, [two.SessionId] = 1 }));
        }
    }

    [Test]
    public async Task CrossSessionContext_SummarisesOtherSessions_WithoutDebug_WithinBudget()
    {
        var one = Open();
        for (var i = 0; i < 100; i++)
        {
            one.Record("GRAPH", "graph", "output", $"run g{i} started");
        }

        one.Record("GRAPH", "debug", "output", "secret debug line");
        await one.FlushAsync().WaitAsync(Guard);
        var two = Open();
        two.Record("GRAPH", "graph", "output", "my own line");
        await two.FlushAsync().WaitAsync(Guard);

        var context = two.CrossSessionContext(500);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(context, Has.Length.LessThanOrEqualTo(500));
            Assert.That(context, Does.StartWith("Previous session context:"));
            Assert.That(context, Does.Contain("[GRAPH:graph] run g99 started"));
            Assert.That(context, Does.Not.Contain("debug line").And.Not.Contain("my own line"));
            Assert.That(context.IndexOf("g98", StringComparison.Ordinal), Is.LessThan(context.IndexOf("g99", StringComparison.Ordinal)));
            Assert.That(one.CrossSessionContext(), Does.Contain("my own line"));
            Assert.That(Open().CrossSessionContext(10), Is.Empty);
        }
    }

    private static IEnumerable<bool> Ranks() => [false, true];

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}

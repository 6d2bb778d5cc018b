using CsCheck;
using Dapper;
using Dataflow.Storage;
using Npgsql;

namespace Dataflow.Npgsql.Tests;

/// <summary>What only the PostgreSQL store has: its search syntaxes under hostile text, its connection strings, its
/// read-only view, both batch paths, and concurrent openers of a new schema.</summary>
public sealed class PostgresStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly string[] HostileWords =
    [
        "&", "|", "!", "<->", "<2>", ":*", ":A", "'", "''", "\"", "\\", "(", ")", "*", "-", "or", "OR", "AND", "NOT", "NEAR",
        "\0", "\ud800", "\udc00", "\u001b[2J", "--", ";", "DROP TABLE entries", "$1", "@Query", "%", "_", "E'\\x'", "::tsquery",
        "日本語", "ŝ", "𝔘", "order", "shipped", "fraud", new string('x', 3000), "a:*b", "!!a", "(a|b)&c", "\t\r\n",
    ];

    private string _connectionString = string.Empty;

    [OneTimeSetUp]
    public async Task CreateDatabaseAsync() => _connectionString = await PostgresSetUp.Server.CreateDatabaseAsync("pgstore");

    [Test]
    [CancelAfter(120_000)]
    public async Task HostileSearchText_NeverEscapesAsARawError(CancellationToken cancellationToken)
    {
        await using var store = await OpenAsync(NewSchema());
        foreach (var content in new[] { "order 1 shipped to Oslo", "order 2 failed: fraud suspected", "日本語 ŝ 𝔘 text", "a:*b (a|b)&c" })
        {
            await store.RecordAsync(new StoreRecord(T0, "GRAPH", "graph", "output", content), cancellationToken);
        }

        await store.FlushAsync(cancellationToken);
        var text = Gen.Frequency(
                (4, Gen.OneOf(HostileWords).Array[0, 8].Select(words => string.Join(' ', words))),
                (2, Gen.OneOf(HostileWords).Array[0, 6].Select(words => string.Concat(words))),
                (2, Gen.Char.Array[0, 24].Select(chars => new string(chars))));
        var syntax = Gen.Enum<SearchSyntax>();

        await Gen.Select(text, syntax, Gen.Bool).SampleAsync(
            async sample =>
            {
                var (query, mode, rank) = sample;
                var options = new SearchOptions { Syntax = mode, Rank = rank, Channel = query, Limit = 5 };
                var unfiltered = new SearchOptions { Syntax = mode, Rank = rank, Limit = 5 };
                try
                {
                    await foreach (var hit in store.SearchAsync(query, unfiltered, cancellationToken))
                    {
                        Assert.That(hit.Content, Is.Not.Null);
                    }

                    await foreach (var hit in store.SearchAsync(query, options, cancellationToken))
                    {
                        Assert.Fail("no channel is named like the query");
                    }
                }
                catch (InvalidSearchQueryException e) when (mode == SearchSyntax.TsQuery)
                {
                    Assert.That(e.Query, Is.EqualTo(query));
                    Assert.That(e.Message, Does.Contain("not valid tsquery syntax").And.Contain("SearchSyntax.Plain"));
                }
            },
            iter: 300,
            threads: 1,
            print: sample => $"{sample.Item2} rank={sample.Item3} '{Escape(sample.Item1)}'");
    }

    [Test]
    public async Task PlainAndWebSearch_ReadTextTheirWay_AndRawSyntaxErrorsAreClear()
    {
        await using var store = await OpenAsync(NewSchema());
        foreach (var content in new[] { "payment declined by bank", "payment accepted", "refund issued" })
        {
            await store.RecordAsync(new StoreRecord(T0, "GRAPH", "graph", "output", content));
        }

        await store.FlushAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await ContentsAsync(store, "payment -declined", SearchSyntax.Web), Is.EqualTo(new[] { "payment accepted" }));
            Assert.That(await ContentsAsync(store, "refund or accepted", SearchSyntax.Web), Is.EquivalentTo(new[] { "payment accepted", "refund issued" }));
            Assert.That(await ContentsAsync(store, "\"declined by\"", SearchSyntax.Web), Is.EqualTo(new[] { "payment declined by bank" }));
            Assert.That(await ContentsAsync(store, "refund | declined", SearchSyntax.TsQuery), Has.Length.EqualTo(2));
            Assert.That(await ContentsAsync(store, "refund or accepted", SearchSyntax.Plain), Is.Empty);
            var error = Assert.ThrowsAsync<InvalidSearchQueryException>(() => ContentsAsync(store, "payment & (", SearchSyntax.TsQuery));
            Assert.That(error!.Message, Does.StartWith("The tsquery 'payment & (' is not valid tsquery syntax"));
        }
    }

    [Test]
    public async Task TextPostgresCannotStore_IsStoredAsReplacementCharacters()
    {
        await using var store = await OpenAsync(NewSchema());
        await store.RecordAsync(new StoreRecord(T0, "GR\0APH", "gr\ud800aph", "output", "nul\0here lone\udc00there pair😀ok") { RunId = "g\01" });
        await store.FlushAsync();

        var entry = await SingleAsync(store.SessionEntriesAsync(store.SessionId));

        Assert.That(entry.Content, Is.EqualTo("nul\uFFFDhere lone\uFFFDthere pair😀ok"));
        Assert.That((entry.Mode, entry.Channel, entry.RunId), Is.EqualTo(("GR\uFFFDAPH", "gr\uFFFDaph", "g\uFFFD1")));
    }

    [Test]
    public async Task CopyAndMultiRowInsert_WriteTheSameRows()
    {
        var schema = NewSchema();
        var records = Enumerable.Range(0, 1500).Select(i => new StoreRecord(T0.AddTicks(i * 10), "GRAPH", i % 2 == 0 ? "graph" : "notes", "output", $"row {i} text", i % 3 == 0 ? null : new Dictionary<string, object?> { ["n"] = i }) { RunId = i % 5 == 0 ? null : $"g{i}", Event = "transition" }).ToList();
        var sessions = new List<string>();
        foreach (var insert in new[] { BatchInsert.Copy, BatchInsert.MultiRowInsert })
        {
            await using var store = await PostgresSessionStore.OpenAsync(_connectionString, new PostgresStoreOptions { Schema = schema, BatchSize = 1500 }, insert, CancellationToken.None);
            foreach (var record in records)
            {
                await store.RecordAsync(record);
            }

            await store.FlushAsync();
            sessions.Add(store.SessionId);
        }

        await using var history = await PostgresSessionHistory.OpenAsync(_connectionString, schema);
        var copied = await ListAsync(history.SessionEntriesAsync(sessions[0]));
        var inserted = await ListAsync(history.SessionEntriesAsync(sessions[1]));
        Assert.That(inserted.Select(e => e with { Id = 0, SessionId = string.Empty }), Is.EqualTo(copied.Select(e => e with { Id = 0, SessionId = string.Empty })));
        Assert.That(copied, Has.Count.EqualTo(1500));
    }

    [Test]
    public async Task History_IsReadOnly_AndRefusesAMissingStore()
    {
        var schema = NewSchema();
        var missing = Assert.ThrowsAsync<StoreNotFoundException>(() => PostgresSessionHistory.OpenAsync(_connectionString, schema));
        Assert.That(missing!.Message, Does.Contain($"No session store in the schema '{schema}'").And.Contain("never creates one"));
        Assert.That(await SchemaExistsAsync(schema), Is.False);

        await (await OpenAsync(schema)).DisposeAsync();
        await using var history = await PostgresSessionHistory.OpenAsync(_connectionString, schema);
        Assert.That(await history.SessionsAsync(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ManyOpeners_OfANewSchema_MigrateItOnce()
    {
        var schema = NewSchema();
        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => OpenAsync(schema)));
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }

        await using var connection = new NpgsqlConnection(_connectionString);
        Assert.That(await connection.QueryAsync<int>($"SELECT version FROM \"{schema}\".schema_version ORDER BY version"), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }), "each migration ran once");
    }

    [Test]
    public async Task UnreachableServer_IsAClearTransientError()
    {
        var builder = new NpgsqlConnectionStringBuilder(_connectionString) { Host = Path.Combine(PostgresSetUp.Server.Directory, "nowhere"), Timeout = 2 };
        var error = Assert.ThrowsAsync<StoreUnavailableException>(() => PostgresSessionStore.OpenAsync(builder.ConnectionString));
        Assert.That(error!.Message, Does.StartWith("Could not open the session store (schema 'dataflow' of database"));
    }

    [TestCase("postgresql://ada:s%40cret@db.example:6543/history?sslmode=require&application_name=dataflow", "Host=db.example;Port=6543;Username=ada;Password=s@cret;Database=history;SSL Mode=Require;Application Name=dataflow")]
    [TestCase("postgres://db1:5432,db2:5433/x", "Host=db1:5432,db2:5433;Database=x")]
    [TestCase("postgresql:///x?host=/tmp/sock&port=5999&user=me", "Host=/tmp/sock;Port=5999;Username=me;Database=x")]
    [TestCase("Host=localhost;Database=x", "Host=localhost;Database=x")]
    public void ConnectionStrings_InEitherForm_BecomeNpgsqlKeywords(string text, string expected)
        => Assert.That(new NpgsqlConnectionStringBuilder(PostgresConnectionString.ToNpgsql(text)).EquivalentTo(new NpgsqlConnectionStringBuilder(expected)), Is.True, PostgresConnectionString.ToNpgsql(text));

    [Test]
    public void ConnectionStrings_ThatAreNot_AreRefusedByName()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => PostgresConnectionString.ToNpgsql("postgresql://h/x?colour=blue"), Throws.ArgumentException.With.Message.Contains("parameter 'colour'"));
            Assert.That(() => PostgresConnectionString.ToNpgsql("postgresql://h:port/x"), Throws.ArgumentException.With.Message.Contains("port 'port'"));
            Assert.That(() => PostgresConnectionString.ToNpgsql("Hots=h"), Throws.ArgumentException.With.Message.Contains("Not a PostgreSQL connection string"));
            Assert.That(PostgresConnectionString.IsConnectionString("postgresql://h/x"), Is.True);
            Assert.That(PostgresConnectionString.IsConnectionString("Host=h;Database=x"), Is.True);
            Assert.That(PostgresConnectionString.IsConnectionString("dataflow.db"), Is.False);
            Assert.That(PostgresConnectionString.IsConnectionString("dir/a=b.db"), Is.False);
        }
    }

    [Test]
    public void Options_AreCheckedAllAtOnce()
    {
        var error = Assert.ThrowsAsync<ArgumentException>(() => PostgresSessionStore.OpenAsync(_connectionString, new PostgresStoreOptions { Schema = "Bad\"Name", BatchSize = 0 }));
        Assert.That(error!.Message, Does.Contain("BatchSize must be at least 1").And.Contain("Schema must be a lower-case identifier"));
    }

    private static string NewSchema() => "p_" + Guid.NewGuid().ToString("N")[..12];

    private static string Escape(string text) => string.Concat(text.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    private static async Task<string[]> ContentsAsync(PostgresSessionStore store, string query, SearchSyntax syntax)
        => [.. (await ListAsync(store.SearchAsync(query, new SearchOptions { Syntax = syntax }))).Select(e => e.Content)];

    private static async Task<List<StoreEntry>> ListAsync(IAsyncEnumerable<StoreEntry> entries)
    {
        var list = new List<StoreEntry>();
        await foreach (var entry in entries)
        {
            list.Add(entry);
        }

        return list;
    }

    private static async Task<StoreEntry> SingleAsync(IAsyncEnumerable<StoreEntry> entries) => (await ListAsync(entries)).Single();

    private Task<PostgresSessionStore> OpenAsync(string schema)
        => PostgresSessionStore.OpenAsync(_connectionString, new PostgresStoreOptions { Schema = schema, FlushInterval = TimeSpan.FromMilliseconds(5) });

    private async Task<bool> SchemaExistsAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        return await connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @Schema)", new { Schema = schema });
    }
}

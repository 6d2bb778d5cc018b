using Dapper;
using Dataflow.Checkpoints;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;
using Pg = Dataflow.Npgsql;
using Lite = Dataflow.Sqlite;

namespace Dataflow.Npgsql.Tests.Contract;

/// <summary>One hit or entry as the contract sees it, whichever backend returned it.</summary>
public sealed record Hit(long Id, string SessionId, DateTimeOffset Timestamp, string Channel, string Content, string? Snippet, string? RunId, string? Event);

/// <summary>The search options the contract uses, translated to each backend's own.</summary>
public sealed record Query(string Text)
{
    public int Limit { get; init; } = 20;

    public bool Rank { get; init; }

    public string? SessionId { get; init; }

    public string? Channel { get; init; }

    public string? RunId { get; init; }

    public string? Event { get; init; }

    public DateTimeOffset? Since { get; init; }

    public DateTimeOffset? Until { get; init; }
}

/// <summary>An open store of either backend, behind the operations the contract checks.</summary>
public abstract class StoreUnderTest : IAsyncDisposable
{
    public abstract string SessionId { get; }

    public abstract IEntryStore Entries { get; }

    public abstract Task FlushAsync();

    public abstract Task<List<Hit>> SearchAsync(Query query);

    public abstract Task<List<Hit>> SessionEntriesAsync(string sessionId, string? runId = null);

    public abstract Task<List<Hit>> RecentAsync(int n);

    public abstract Task<string?> SessionOfRunAsync(string runId);

    public abstract Task<List<(string Id, long EntryCount)>> SessionsAsync();

    /// <summary>The store's checkpoints of durable runs (the engine's seam).</summary>
    public abstract ICheckpointStore Checkpoints { get; }

    /// <summary>A run's committed checkpoints, as the store's own read API (not the seam) returns them.</summary>
    public abstract Task<IReadOnlyList<RunCheckpoint>> RunCheckpointsAsync(string runId);

    public abstract Task<IReadOnlyList<string>> FailedRunsAsync(string graph, string? sessionId = null);

    public abstract ValueTask DisposeAsync();
}

/// <summary>Where a backend keeps stores: a location is a file (SQLite) or a schema in the fixture's database (PostgreSQL).</summary>
public abstract class StoreBackend
{
    public abstract Task<string> NewLocationAsync();

    public abstract Task<StoreUnderTest> OpenAsync(string location);

    /// <summary>Marks an existing store as written by a newer release.</summary>
    public abstract Task BumpSchemaVersionAsync(string location, int version);

    /// <summary>Puts someone else's table where a store would go.</summary>
    public abstract Task PlantForeignTableAsync(string location);

    /// <summary>Whether the foreign table is still there, unchanged, and nothing of ours was created beside it.</summary>
    public abstract Task<bool> OnlyForeignTableExistsAsync(string location);

    public abstract Type SchemaTooNew { get; }

    public abstract Type NotAStore { get; }

    /// <summary>The backend's own store exception (each library has its own type).</summary>
    public abstract Type StoreError { get; }

    /// <summary>Drops the table the store's checkpoints are written to, from outside the store: every later write fails.</summary>
    public abstract Task DropCheckpointTableAsync(string location);
}

public sealed class SqliteBackend(string directory) : StoreBackend
{
    public override Task<string> NewLocationAsync() => Task.FromResult(Path.Combine(directory, Guid.NewGuid().ToString("N") + ".db"));

    public override Task<StoreUnderTest> OpenAsync(string location)
        => Task.FromResult<StoreUnderTest>(new SqliteStore(new Lite.SessionStore(location, new Lite.SessionStoreOptions { FlushInterval = TimeSpan.FromMilliseconds(5) })));

    public override Task BumpSchemaVersionAsync(string location, int version) => Execute(location, $"PRAGMA user_version = {version}");

    public override Task PlantForeignTableAsync(string location) => Execute(location, "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL); INSERT INTO orders VALUES (1, 9.5)");

    public override Task<bool> OnlyForeignTableExistsAsync(string location)
    {
        using var connection = new SqliteConnection($"Data Source={location};Pooling=false");
        connection.Open();
        var tables = connection.Query<string>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").ToList();
        var rows = connection.ExecuteScalar<long>("SELECT count(*) FROM orders");
        return Task.FromResult(tables.SequenceEqual(["orders"]) && rows == 1);
    }

    public override Type SchemaTooNew => typeof(Lite.StoreSchemaTooNewException);

    public override Type NotAStore => typeof(Lite.NotAStoreException);

    public override Type StoreError => typeof(Lite.StoreException);

    public override Task DropCheckpointTableAsync(string location) => Execute(location, "DROP TABLE checkpoint_log");

    private static Task Execute(string location, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={location};Pooling=false");
        connection.Open();
        connection.Execute(sql);
        return Task.CompletedTask;
    }

    private sealed class SqliteStore(Lite.SessionStore store) : StoreUnderTest
    {
        public override string SessionId => store.SessionId;

        public override IEntryStore Entries => store;

        public override Task FlushAsync() => store.FlushAsync();

        public override async Task<List<Hit>> SearchAsync(Query q)
        {
            var options = new Lite.SearchOptions
            {
                Limit = q.Limit,
                Rank = q.Rank,
                SessionId = q.SessionId,
                Channel = q.Channel,
                RunId = q.RunId,
                Event = q.Event,
                Since = q.Since,
                Until = q.Until,
            };
            return await ToHits(store.SearchAsync(q.Text, options));
        }

        public override Task<List<Hit>> SessionEntriesAsync(string sessionId, string? runId = null) => ToHits(store.SessionEntriesAsync(sessionId, runId));

        public override Task<List<Hit>> RecentAsync(int n) => ToHits(store.RecentAsync(n));

        public override Task<string?> SessionOfRunAsync(string runId) => Task.FromResult(store.SessionOfRun(runId));

        public override Task<List<(string Id, long EntryCount)>> SessionsAsync() => Task.FromResult(store.Sessions().Select(s => (s.Id, s.EntryCount)).ToList());

        public override ICheckpointStore Checkpoints => store.Checkpoints;

        public override Task<IReadOnlyList<RunCheckpoint>> RunCheckpointsAsync(string runId) => Task.FromResult(store.RunCheckpoints(runId));

        public override Task<IReadOnlyList<string>> FailedRunsAsync(string graph, string? sessionId = null) => Task.FromResult(store.FailedRuns(graph, sessionId));

        public override ValueTask DisposeAsync() => store.DisposeAsync();

        private static async Task<List<Hit>> ToHits(IAsyncEnumerable<Lite.StoreEntry> entries)
        {
            var hits = new List<Hit>();
            await foreach (var e in entries)
            {
                hits.Add(new Hit(e.Id, e.SessionId, e.Timestamp, e.Channel, e.Content, e.Snippet, e.RunId, e.Event));
            }

            return hits;
        }
    }
}

public sealed class PostgresBackend(string connectionString) : StoreBackend
{
    public override Task<string> NewLocationAsync() => Task.FromResult("s_" + Guid.NewGuid().ToString("N")[..12]);

    public override async Task<StoreUnderTest> OpenAsync(string location)
        => new PostgresStore(await Pg.PostgresSessionStore.OpenAsync(connectionString, new Pg.PostgresStoreOptions { Schema = location, FlushInterval = TimeSpan.FromMilliseconds(5) }));

    public override Task BumpSchemaVersionAsync(string location, int version) => ExecuteAsync($"INSERT INTO \"{location}\".schema_version (version) VALUES ({version})");

    public override Task PlantForeignTableAsync(string location)
        => ExecuteAsync($"CREATE SCHEMA \"{location}\"; CREATE TABLE \"{location}\".orders (id int PRIMARY KEY, total numeric); INSERT INTO \"{location}\".orders VALUES (1, 9.5)");

    public override async Task<bool> OnlyForeignTableExistsAsync(string location)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var tables = (await connection.QueryAsync<string>("SELECT tablename FROM pg_tables WHERE schemaname = @Schema ORDER BY tablename", new { Schema = location })).ToList();
        var rows = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM \"{location}\".orders");
        return tables.SequenceEqual(["orders"]) && rows == 1;
    }

    public override Type SchemaTooNew => typeof(Pg.StoreSchemaTooNewException);

    public override Type NotAStore => typeof(Pg.NotAStoreException);

    public override Type StoreError => typeof(Pg.StoreException);

    public override Task DropCheckpointTableAsync(string location) => ExecuteAsync($"DROP TABLE \"{location}\".checkpoints CASCADE");

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await connection.ExecuteAsync(sql);
    }

    private sealed class PostgresStore(Pg.PostgresSessionStore store) : StoreUnderTest
    {
        public override string SessionId => store.SessionId;

        public override IEntryStore Entries => store;

        public override Task FlushAsync() => store.FlushAsync();

        public override Task<List<Hit>> SearchAsync(Query q)
        {
            var options = new Pg.SearchOptions
            {
                Limit = q.Limit,
                Rank = q.Rank,
                SessionId = q.SessionId,
                Channel = q.Channel,
                RunId = q.RunId,
                Event = q.Event,
                Since = q.Since,
                Until = q.Until,
            };
            return ToHits(store.SearchAsync(q.Text, options));
        }

        public override Task<List<Hit>> SessionEntriesAsync(string sessionId, string? runId = null) => ToHits(store.SessionEntriesAsync(sessionId, runId));

        public override Task<List<Hit>> RecentAsync(int n) => ToHits(store.RecentAsync(n));

        public override Task<string?> SessionOfRunAsync(string runId) => store.SessionOfRunAsync(runId);

        public override async Task<List<(string Id, long EntryCount)>> SessionsAsync() => (await store.SessionsAsync()).Select(s => (s.Id, s.EntryCount)).ToList();

        public override ICheckpointStore Checkpoints => store.Checkpoints;

        public override Task<IReadOnlyList<RunCheckpoint>> RunCheckpointsAsync(string runId) => store.RunCheckpointsAsync(runId);

        public override Task<IReadOnlyList<string>> FailedRunsAsync(string graph, string? sessionId = null) => store.FailedRunsAsync(graph, sessionId);

        public override ValueTask DisposeAsync() => store.DisposeAsync();

        private static async Task<List<Hit>> ToHits(IAsyncEnumerable<Pg.StoreEntry> entries)
        {
            var hits = new List<Hit>();
            await foreach (var e in entries)
            {
                hits.Add(new Hit(e.Id, e.SessionId, e.Timestamp, e.Channel, e.Content, e.Snippet, e.RunId, e.Event));
            }

            return hits;
        }
    }
}

using System.Diagnostics;
using Dataflow.Bench.Measurement;
using Dataflow.Events;
using Dataflow.Npgsql;
using Dataflow.Sqlite;
using Dataflow.Testing;

namespace Dataflow.Bench.Workloads;

/// <summary>
/// The PostgreSQL store on a throwaway server of its own (fsync on, like SQLite's durable commits): lifecycle events
/// through the hub and <see cref="StoreEventSink"/> with each batch path, and newest-first search over the same entries
/// as <see cref="StoreSearchWorkload"/>, beside the SQLite store in the same run.
/// </summary>
internal sealed class PostgresStoreWorkload : IAsyncDisposable
{
    private readonly PostgresServer _server;

    private PostgresStoreWorkload(PostgresServer server)
    {
        _server = server;
    }

    public static async Task<PostgresStoreWorkload> StartAsync() => new(await PostgresServer.StartAsync(durable: true));

    /// <summary>Events from an open store to the moment its flush says everything is committed, as for SQLite.</summary>
    public async Task<StoreWriteFigures> RunStoreSinkAsync(int events, BatchInsert insert)
    {
        var connectionString = await _server.CreateDatabaseAsync("write");
        await using var store = await PostgresSessionStore.OpenAsync(connectionString, new PostgresStoreOptions { WorkingDirectory = "/bench" }, insert, CancellationToken.None);
        var hub = new EventHub();
        var registration = hub.AddSink(new StoreEventSink(store), new SinkOptions { Name = "store" });
        var started = Stopwatch.GetTimestamp();
        foreach (var graphEvent in CheckingSink.RunEvents(0, (events + CheckingSink.EventsPerRun - 1) / CheckingSink.EventsPerRun).Take(events))
        {
            await hub.PublishAsync(graphEvent);
        }

        await hub.DisposeAsync();
        await store.FlushAsync();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (registration.Failures > 0)
        {
            throw new InvalidOperationException($"The PostgreSQL store sink failed on {registration.Failures} events.");
        }

        return new StoreWriteFigures(events / seconds, events - store.Written);
    }

    /// <summary>Fills a store with the search workload's entries and times the three queries, alternating with the
    /// SQLite store over the same entries; the hit counts must agree.</summary>
    public async Task<IReadOnlyList<(string Name, Latencies Postgres, Latencies Sqlite)>> MeasureSearchAsync(string sqlitePath, int entries, int repetitions)
    {
        var connectionString = await _server.CreateDatabaseAsync("search");
        await using var store = await PostgresSessionStore.OpenAsync(connectionString, new PostgresStoreOptions { WorkingDirectory = "/bench", BatchSize = 4096, QueueCapacity = 65_536 });
        await using var sqlite = new SessionStore(sqlitePath, new SessionStoreOptions { WorkingDirectory = "/bench", BatchSize = 4096, QueueCapacity = 65_536, DurableCommits = false });
        for (var i = 0; i < entries; i++)
        {
            var content = StoreSearchWorkload.Content(i, entries);
            await store.RecordAsync("GRAPH", "graph", "output", content);
            await sqlite.RecordAsync("GRAPH", "graph", "output", content);
        }

        await store.FlushAsync();
        await sqlite.FlushAsync();
        await using (var analyze = new global::Npgsql.NpgsqlConnection(connectionString))
        {
            // What autovacuum does shortly after a bulk load: statistics for the planner, and the GIN index's pending
            // list merged (until then a search also scans the pending list: ~8 ms at its 4 MB default).
            await analyze.OpenAsync();
            await using var command = new global::Npgsql.NpgsqlCommand("VACUUM ANALYZE dataflow.entries", analyze);
            await command.ExecuteNonQueryAsync();
        }

        var results = new List<(string, Latencies, Latencies)>();
        foreach (var (name, query) in StoreSearchWorkload.Queries)
        {
            var postgres = new List<double>();
            var lite = new List<double>();
            for (var i = 0; i < repetitions + 5; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var a = 0;
                await foreach (var hit in store.SearchAsync(query, new Dataflow.Npgsql.SearchOptions { Limit = 20 }))
                {
                    a++;
                }

                var pgMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                started = Stopwatch.GetTimestamp();
                var b = 0;
                await foreach (var hit in sqlite.SearchAsync(query, new Dataflow.Sqlite.SearchOptions { Limit = 20 }))
                {
                    b++;
                }

                var liteMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (a != b)
                {
                    throw new InvalidOperationException($"PostgreSQL found {a} hits for '{query}', SQLite {b}.");
                }

                // The first few searches warm both sides (JIT, plans, caches).
                if (i >= 5)
                {
                    postgres.Add(pgMs);
                    lite.Add(liteMs);
                }
            }

            results.Add((name, new Latencies(postgres), new Latencies(lite)));
        }

        return results;
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

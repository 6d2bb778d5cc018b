using System.Diagnostics;
using System.Globalization;
using Dataflow.Bench.Measurement;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;
using Microsoft.Data.Sqlite;

namespace Dataflow.Bench.Workloads;

/// <summary>
/// A store filled with <c>n</c> entries, searched newest first for a rare term, a common term (10% of entries) and a
/// prefix: through <see cref="SessionStore.Search"/>, against the original's query shape (FTS5 joined to the entries,
/// ORDER BY timestamp DESC) on one open connection.
/// </summary>
internal sealed class StoreSearchWorkload : IAsyncDisposable
{
    /// <summary>The three queries: rare (10 entries), common (every tenth entry), prefix (two of the five node names: 40% of the entries).</summary>
    public static readonly IReadOnlyList<(string Name, string Query)> Queries =
    [
        ("rare", "zyzzyva"),
        ("common", "checkpoint"),
        ("prefix", "Stress*"),
    ];

    private static readonly string[] NodeNames = ["StressStart", "StressMiddle", "PingStart", "PingMiddle", "BlockingWork"];

    private readonly SessionStore _store;
    private readonly SqliteConnection _original;

    private StoreSearchWorkload(SessionStore store, SqliteConnection original)
    {
        _store = store;
        _original = original;
    }

    public static async Task<StoreSearchWorkload> CreateAsync(string path, int entries)
    {
        var store = new SessionStore(path, new SessionStoreOptions { WorkingDirectory = "/bench", BatchSize = 4096, QueueCapacity = 65_536, DurableCommits = false });
        for (var i = 0; i < entries; i++)
        {
            await store.RecordAsync("GRAPH", "graph", "output", Content(i, entries));
        }

        await store.FlushAsync();
        var original = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        original.Open();
        return new StoreSearchWorkload(store, original);
    }

    /// <summary>The content of entry <paramref name="i"/> of <paramref name="entries"/>: the same on every backend.</summary>
    public static string Content(int i, int entries)
    {
        var rareEvery = Math.Max(1, entries / 10);
        var node = NodeNames[i % NodeNames.Length];
        var id = i.ToString(CultureInfo.InvariantCulture);
        var content = (i % 10) switch
        {
            0 => $"g{id} {node} -> End checkpoint reached",
            _ => $"g{id} {node} -> End done in {(i % 977).ToString(CultureInfo.InvariantCulture)} ms",
        };
        return i % rareEvery == 7 ? content + " zyzzyva" : content;
    }

    /// <summary>Times one newest-first search through the store, in milliseconds; <paramref name="hits"/> gets the hit count.</summary>
    public double SearchStore(string query, out int hits)
    {
        var started = Stopwatch.GetTimestamp();
        hits = _store.Search(query, new SearchOptions { Limit = 20 }).Count;
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>Times the original's query shape: a join ordered by timestamp.</summary>
    public double SearchOriginal(string query, out int hits)
    {
        var started = Stopwatch.GetTimestamp();
        using var command = _original.CreateCommand();
        command.CommandText =
            "SELECT e.id, e.session_id, e.timestamp, e.mode, e.channel, e.direction, e.content, e.metadata " +
            "FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid WHERE entries_fts MATCH $match " +
            "ORDER BY e.timestamp DESC LIMIT 20";
        command.Parameters.AddWithValue("$match", query.EndsWith('*') ? $"\"{query.TrimEnd('*')}\"*" : $"\"{query}\"");
        using var reader = command.ExecuteReader();
        hits = 0;
        while (reader.Read())
        {
            _ = reader.GetString(6);
            hits++;
        }

        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>Runs every query <paramref name="repetitions"/> times on both sides, alternating.</summary>
    public IReadOnlyList<(string Name, Latencies Ours, Latencies Original)> Measure(int repetitions)
    {
        var results = new List<(string, Latencies, Latencies)>();
        foreach (var (name, query) in Queries)
        {
            var ours = new List<double>();
            var original = new List<double>();
            for (var i = 0; i < repetitions; i++)
            {
                ours.Add(SearchStore(query, out var a));
                original.Add(SearchOriginal(query, out var b));
                if (a != b)
                {
                    throw new InvalidOperationException($"The store found {a} hits for '{query}', the original's query {b}.");
                }
            }

            results.Add((name, new Latencies(ours), new Latencies(original)));
        }

        return results;
    }

    public async ValueTask DisposeAsync()
    {
        await _original.DisposeAsync();
        await _store.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Text.Json;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;
using Microsoft.Data.Sqlite;

namespace Dataflow.Bench.Workloads;

/// <summary>What one store-write measurement saw.</summary>
internal sealed record StoreWriteFigures(double EntriesPerSecond, long Lost);

/// <summary>
/// Lifecycle events persisted to SQLite: through the hub and <see cref="StoreEventSink"/> into a <see cref="SessionStore"/>,
/// against one commit per entry with an FTS5 trigger (the original's way) and against a hand-written prepared-statement batch
/// on the same schema. Every side stores the same content and the same JSON metadata, with the same durability (synchronous = FULL).
/// </summary>
internal static class StoreWriteWorkload
{
    private const int Batch = 512;

    /// <summary>
    /// Timed like the baselines: from an open store to the moment <see cref="SessionStore.FlushAsync"/> says everything
    /// is committed; opening the file and the WAL checkpoint on close are outside the measurement on every side.
    /// </summary>
    public static async Task<StoreWriteFigures> RunStoreSinkAsync(string path, int events)
    {
        await using var store = new SessionStore(path, new SessionStoreOptions { WorkingDirectory = "/bench" });
        var hub = new EventHub();
        var registration = hub.AddSink(new StoreEventSink(store), new SinkOptions { Name = "store" });
        var started = Stopwatch.GetTimestamp();
        foreach (var graphEvent in Events(events))
        {
            await hub.PublishAsync(graphEvent);
        }

        await hub.DisposeAsync();
        await store.FlushAsync();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (registration.Failures > 0)
        {
            throw new InvalidOperationException($"The store sink failed on {registration.Failures} events.");
        }

        return new StoreWriteFigures(events / seconds, events - store.Written);
    }

    /// <summary>The store alone, without the hub: <see cref="SessionStore.RecordAsync(string, string, string, string, IReadOnlyDictionary{string, object?}?, CancellationToken)"/> from one producer.</summary>
    public static async Task<StoreWriteFigures> RunStoreDirectAsync(string path, int events)
    {
        await using var store = new SessionStore(path, new SessionStoreOptions { WorkingDirectory = "/bench" });
        var started = Stopwatch.GetTimestamp();
        foreach (var graphEvent in Events(events))
        {
            await store.RecordAsync("GRAPH", "graph", "output", graphEvent.Content, graphEvent.Metadata);
        }

        await store.FlushAsync();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new StoreWriteFigures(events / seconds, events - store.Written);
    }

    /// <summary>The original's way: each entry in its own transaction (autocommit), indexed by a trigger.</summary>
    public static async Task<StoreWriteFigures> RunCommitPerEntryAsync(string path, int events)
    {
        var sessionId = await CreateSchemaAsync(path);
        using var connection = Open(path);
        Execute(connection, Schema.InsertTriggerSql);
        using var insert = InsertCommand(connection, sessionId);
        var started = Stopwatch.GetTimestamp();
        foreach (var graphEvent in Events(events))
        {
            Bind(insert, graphEvent);
            insert.ExecuteNonQuery();
        }

        return new StoreWriteFigures(events / Stopwatch.GetElapsedTime(started).TotalSeconds, events - Count(connection));
    }

    /// <summary>A hand-written batch: one prepared insert, one transaction and one FTS5 INSERT … SELECT per 512 entries.</summary>
    public static async Task<StoreWriteFigures> RunPreparedBatchAsync(string path, int events)
    {
        var sessionId = await CreateSchemaAsync(path);
        using var connection = Open(path);
        using var insert = InsertCommand(connection, sessionId);
        using var maxId = connection.CreateCommand();
        maxId.CommandText = "SELECT coalesce(max(id), 0) FROM entries";
        using var index = connection.CreateCommand();
        index.CommandText = Schema.IndexBatchSql.Replace("@After", "$after", StringComparison.Ordinal);
        var after = index.Parameters.Add("$after", SqliteType.Integer);
        var started = Stopwatch.GetTimestamp();
        using var source = Events(events).GetEnumerator();
        var more = true;
        while (more)
        {
            using var transaction = connection.BeginTransaction(deferred: false);
            insert.Transaction = transaction;
            maxId.Transaction = transaction;
            index.Transaction = transaction;
            after.Value = (long)maxId.ExecuteScalar()!;
            for (var i = 0; i < Batch && (more = source.MoveNext()); i++)
            {
                Bind(insert, source.Current);
                insert.ExecuteNonQuery();
            }

            index.ExecuteNonQuery();
            transaction.Commit();
        }

        return new StoreWriteFigures(events / Stopwatch.GetElapsedTime(started).TotalSeconds, events - Count(connection));
    }

    private static IEnumerable<GraphEvent> Events(int count) => CheckingSink.RunEvents(0, (count + CheckingSink.EventsPerRun - 1) / CheckingSink.EventsPerRun).Take(count);

    /// <summary>Creates the file with the store's own schema and one session; returns the session's id.</summary>
    private static async Task<string> CreateSchemaAsync(string path)
    {
        await using var store = new SessionStore(path, new SessionStoreOptions { WorkingDirectory = "/bench" });
        return store.SessionId;
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        Execute(connection, "PRAGMA journal_mode = WAL");
        Execute(connection, "PRAGMA synchronous = FULL");
        return connection;
    }

    private static SqliteCommand InsertCommand(SqliteConnection connection, string sessionId)
    {
        var insert = connection.CreateCommand();
        insert.CommandText = Schema.InsertEntrySql;
        insert.Parameters.AddWithValue("@SessionId", sessionId);
        foreach (var name in new[] { "@Timestamp", "@Mode", "@Channel", "@Direction", "@Content", "@Metadata", "@RunId", "@Event" })
        {
            insert.Parameters.Add(name, SqliteType.Text);
        }

        insert.Prepare();
        return insert;
    }

    private static void Bind(SqliteCommand insert, GraphEvent graphEvent)
    {
        insert.Parameters["@Timestamp"].Value = SessionStore.Format(graphEvent.Timestamp);
        insert.Parameters["@Mode"].Value = "GRAPH";
        insert.Parameters["@Channel"].Value = "graph";
        insert.Parameters["@Direction"].Value = "output";
        insert.Parameters["@Content"].Value = graphEvent.Content;
        insert.Parameters["@Metadata"].Value = JsonSerializer.Serialize(graphEvent.Metadata);
        insert.Parameters["@RunId"].Value = graphEvent.RunId;
        insert.Parameters["@Event"].Value = GraphEvent.KindName(graphEvent.Kind);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Count(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM entries";
        return (long)command.ExecuteScalar()!;
    }
}

using System.Runtime.CompilerServices;
using Dataflow.Checkpoints;
using Dataflow.Sqlite;
using Dataflow.Storage;
using Pg = Dataflow.Npgsql;

namespace Dataflow.Cli.History;

/// <summary>The read side the read commands use, whichever database <c>--db</c> names. Rows come as the SQLite store's
/// <see cref="StoreEntry"/> and <see cref="SessionInfo"/>, which the commands already print; PostgreSQL's are copied over.</summary>
internal interface IHistoryReader : IAsyncDisposable
{
    /// <summary>How messages name the database (a path, or the PostgreSQL schema, database and host; never a password).</summary>
    string Name { get; }

    IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions options, CancellationToken cancellationToken);

    IAsyncEnumerable<StoreEntry> RecentAsync(int n, CancellationToken cancellationToken);

    IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId, CancellationToken cancellationToken);

    Task<string?> SessionOfRunAsync(string runId, CancellationToken cancellationToken);

    Task<IReadOnlyList<SessionInfo>> SessionsAsync(CancellationToken cancellationToken);

    /// <summary>A durable run's checkpoints; throws <see cref="CheckpointsUnavailableException"/> where the store keeps none.</summary>
    Task<IReadOnlyList<RunCheckpoint>> RunCheckpointsAsync(string runId, CancellationToken cancellationToken);
}

/// <summary>The write side <c>run</c> uses: a session of either store.</summary>
internal interface IHistoryWriter : IAsyncDisposable
{
    string Name { get; }

    string SessionId { get; }

    IEntryStore Entries { get; }

    BatchWriterHealth Health { get; }

    /// <summary>Where durable runs keep their checkpoints: the same database as the history, either backend.</summary>
    ICheckpointStore Checkpoints { get; }

    /// <summary>The failed durable runs of a graph in one session (null: the latest with any) not yet rerun, oldest first.</summary>
    Task<IReadOnlyList<string>> FailedRunsAsync(string graph, string? sessionId, CancellationToken cancellationToken);

    Task FlushAsync(CancellationToken cancellationToken);
}

internal sealed class SqliteHistoryReader(SessionHistory history) : IHistoryReader
{
    public string Name => history.Path;

    public IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions options, CancellationToken cancellationToken) => history.SearchAsync(query, options, cancellationToken);

    public IAsyncEnumerable<StoreEntry> RecentAsync(int n, CancellationToken cancellationToken) => history.RecentAsync(n, cancellationToken);

    public IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId, CancellationToken cancellationToken) => history.SessionEntriesAsync(sessionId, runId, cancellationToken);

    public Task<string?> SessionOfRunAsync(string runId, CancellationToken cancellationToken) => Task.FromResult(history.SessionOfRun(runId));

    public Task<IReadOnlyList<SessionInfo>> SessionsAsync(CancellationToken cancellationToken) => Task.FromResult(history.Sessions());

    public Task<IReadOnlyList<RunCheckpoint>> RunCheckpointsAsync(string runId, CancellationToken cancellationToken) => Task.FromResult(history.RunCheckpoints(runId));

    public ValueTask DisposeAsync()
    {
        history.Dispose();
        return default;
    }
}

internal sealed class PostgresHistoryReader(Pg.PostgresSessionHistory history) : IHistoryReader
{
    public string Name => history.Target;

    public IAsyncEnumerable<StoreEntry> SearchAsync(string query, SearchOptions options, CancellationToken cancellationToken)
        => Copy(history.SearchAsync(query, new Pg.SearchOptions
        {
            Limit = options.Limit,
            Rank = options.Rank,
            Syntax = options.Fts ? Pg.SearchSyntax.TsQuery : Pg.SearchSyntax.Plain,
            SessionId = options.SessionId,
            Channel = options.Channel,
            RunId = options.RunId,
            Event = options.Event,
            Since = options.Since,
            Until = options.Until,
            HighlightStart = options.HighlightStart,
            HighlightEnd = options.HighlightEnd,
        }, cancellationToken), cancellationToken);

    public IAsyncEnumerable<StoreEntry> RecentAsync(int n, CancellationToken cancellationToken) => Copy(history.RecentAsync(n, cancellationToken), cancellationToken);

    public IAsyncEnumerable<StoreEntry> SessionEntriesAsync(string sessionId, string? runId, CancellationToken cancellationToken)
        => Copy(history.SessionEntriesAsync(sessionId, runId, cancellationToken), cancellationToken);

    public Task<string?> SessionOfRunAsync(string runId, CancellationToken cancellationToken) => history.SessionOfRunAsync(runId, cancellationToken);

    public async Task<IReadOnlyList<SessionInfo>> SessionsAsync(CancellationToken cancellationToken)
        => [.. (await history.SessionsAsync(cancellationToken).ConfigureAwait(false)).Select(s => new SessionInfo(s.Id, s.StartedAt, s.Cwd, s.MetadataJson, s.EntryCount))];

    public Task<IReadOnlyList<RunCheckpoint>> RunCheckpointsAsync(string runId, CancellationToken cancellationToken) => history.RunCheckpointsAsync(runId, cancellationToken);

    public ValueTask DisposeAsync() => history.DisposeAsync();

    private static async IAsyncEnumerable<StoreEntry> Copy(IAsyncEnumerable<Pg.StoreEntry> entries, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var e in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return new StoreEntry(e.Id, e.SessionId, e.Timestamp, e.Mode, e.Channel, e.Direction, e.Content, e.MetadataJson) { Snippet = e.Snippet, RunId = e.RunId, Event = e.Event };
        }
    }
}

internal sealed class SqliteHistoryWriter(SessionStore store) : IHistoryWriter
{
    public string Name => store.Path;

    public ICheckpointStore Checkpoints => store.Checkpoints;

    public Task<IReadOnlyList<string>> FailedRunsAsync(string graph, string? sessionId, CancellationToken cancellationToken) => Task.FromResult(store.FailedRuns(graph, sessionId));

    public string SessionId => store.SessionId;

    public IEntryStore Entries => store;

    public BatchWriterHealth Health => store.Health;

    public Task FlushAsync(CancellationToken cancellationToken) => store.FlushAsync(cancellationToken);

    public ValueTask DisposeAsync() => store.DisposeAsync();
}

internal sealed class PostgresHistoryWriter(Pg.PostgresSessionStore store) : IHistoryWriter
{
    public string Name => store.Target;

    public ICheckpointStore Checkpoints => store.Checkpoints;

    public Task<IReadOnlyList<string>> FailedRunsAsync(string graph, string? sessionId, CancellationToken cancellationToken) => store.FailedRunsAsync(graph, sessionId, cancellationToken);

    public string SessionId => store.SessionId;

    public IEntryStore Entries => store;

    public BatchWriterHealth Health => store.Health;

    public Task FlushAsync(CancellationToken cancellationToken) => store.FlushAsync(cancellationToken);

    public ValueTask DisposeAsync() => store.DisposeAsync();
}

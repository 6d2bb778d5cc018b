using Dataflow.Sqlite;

namespace Dataflow.Cli.History;

/// <summary>The SQLite <see cref="SessionStore"/> behind <see cref="IHistoryStore"/>.</summary>
internal sealed class SessionStoreHistory(SessionStore store) : IHistoryStore
{
    public string SessionId => store.SessionId;

    public string Path => store.Path;

    public ValueTask RecordAsync(string mode, string channel, string direction, string content, IReadOnlyDictionary<string, object?>? metadata = null, CancellationToken cancellationToken = default)
        => store.RecordAsync(mode, channel, direction, content, metadata, cancellationToken);

    public Task FlushAsync(CancellationToken cancellationToken = default) => store.FlushAsync(cancellationToken);

    public IReadOnlyList<StoreEntry> Search(string query, SearchOptions options) => store.Search(query, options);

    public IReadOnlyList<StoreEntry> Recent(int count) => store.Recent(count);

    public IReadOnlyList<StoreEntry> SessionEntries(string? sessionId) => store.SessionEntries(sessionId);

    public IReadOnlyList<SessionInfo> Sessions() => store.Sessions();

    public ValueTask DisposeAsync() => store.DisposeAsync();
}

internal static partial class HistoryStores
{
    private static partial IHistoryStore OpenStore(string path, IReadOnlyDictionary<string, object?> sessionMetadata)
        => new SessionStoreHistory(new SessionStore(path, new SessionStoreOptions { SessionMetadata = sessionMetadata }));
}

using Dataflow.Events;
using Dataflow.Sqlite;

namespace Dataflow.Cli.History;

/// <summary>What the commands need of the session store; the seam that lets tests and the store evolve apart.</summary>
internal interface IHistoryStore : IEntryStore, IAsyncDisposable
{
    string SessionId { get; }

    string Path { get; }

    Task FlushAsync(CancellationToken cancellationToken = default);

    IReadOnlyList<StoreEntry> Search(string query, SearchOptions options);

    IReadOnlyList<StoreEntry> Recent(int count);

    IReadOnlyList<StoreEntry> SessionEntries(string? sessionId);

    IReadOnlyList<SessionInfo> Sessions();
}

/// <summary>Opens the store, turning its failures into messages that name the database.</summary>
internal static partial class HistoryStores
{
    /// <summary>Opens (creating) the database for writing: <c>run</c>.</summary>
    /// <exception cref="CliException">The database cannot be opened or is not a Dataflow store.</exception>
    public static IHistoryStore OpenForWrite(string path, IReadOnlyDictionary<string, object?> sessionMetadata)
        => Open(path, sessionMetadata);

    /// <summary>Opens an existing database for the read commands; a missing file is an error, not a new database.</summary>
    /// <exception cref="CliException">The file does not exist, cannot be opened or is not a Dataflow store.</exception>
    public static IHistoryStore OpenForRead(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"no database at '{path}'; run `dataflow run` first, or point --db at an existing database.");
        }

        return Open(path, new Dictionary<string, object?>(StringComparer.Ordinal) { ["command"] = "read" });
    }

    private static IHistoryStore Open(string path, IReadOnlyDictionary<string, object?> sessionMetadata)
    {
        try
        {
            var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (directory is not null && !Directory.Exists(directory))
            {
                throw new CliException($"cannot open database '{path}': its directory '{directory}' does not exist.");
            }

            return OpenStore(path, sessionMetadata);
        }
        catch (StoreException e)
        {
            throw new CliException($"unreadable database '{path}': {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.Data.Common.DbException)
        {
            throw new CliException($"unreadable database '{path}': {e.Message}", e);
        }
    }

    private static partial IHistoryStore OpenStore(string path, IReadOnlyDictionary<string, object?> sessionMetadata);
}

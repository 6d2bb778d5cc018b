using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;

namespace Dataflow.Cli.History;

/// <summary>Opens the store for <c>run</c> and the read-only history for the read commands, turning failures into messages that name the database.</summary>
internal static class HistoryStores
{
    /// <summary>Opens (creating) the database and starts a session: <c>run</c>.</summary>
    /// <exception cref="CliException">The database cannot be opened or is not a Dataflow store.</exception>
    public static SessionStore OpenForWrite(string path, IReadOnlyDictionary<string, object?> sessionMetadata)
        => Open(path, () =>
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null && !Directory.Exists(directory))
            {
                throw new CliException($"cannot open database '{path}': its directory '{directory}' does not exist.");
            }

            return new SessionStore(path, new SessionStoreOptions { SessionMetadata = sessionMetadata });
        });

    /// <summary>Opens an existing database read-only for the read commands: no session, no writer, never a new file.</summary>
    /// <exception cref="CliException">The file does not exist, cannot be opened or is not a Dataflow store.</exception>
    public static SessionHistory OpenForRead(string path)
    {
        try
        {
            return Open(path, () => SessionHistory.Open(path));
        }
        catch (FileNotFoundException e)
        {
            throw new CliException($"no database at '{path}'; run `dataflow run` first, or point --db at an existing database.", e);
        }
    }

    private static T Open<T>(string path, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (StoreException e)
        {
            throw new CliException($"unreadable database '{path}': {e.Message}", e);
        }
        catch (Exception e) when (e is (IOException and not FileNotFoundException) or UnauthorizedAccessException or InvalidOperationException or System.Data.Common.DbException)
        {
            throw new CliException($"unreadable database '{path}': {e.Message}", e);
        }
    }
}

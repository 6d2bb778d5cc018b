namespace Dataflow.Cli.History;

// Compiled only while lib/Dataflow.Sqlite has no SessionStore yet (see Dataflow.Cli.csproj).
internal static partial class HistoryStores
{
    private static partial IHistoryStore OpenStore(string path, IReadOnlyDictionary<string, object?> sessionMetadata)
        => throw new CliException($"cannot open database '{path}': this build of dataflow has no SQLite session store yet (lib/Dataflow.Sqlite has no SessionStore).");
}

using Dapper;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite;

/// <summary>
/// The store's schema and its versions. <c>PRAGMA user_version</c> holds the version of a file; opening a file
/// runs every migration from its version up to <see cref="CurrentVersion"/>, each in one transaction, and refuses a
/// file from a newer release.
/// </summary>
/// <remarks>
/// The FTS5 table is external-content over <c>entries.content</c>. Deletes and content updates keep it in step through
/// triggers; inserts do not have a trigger: the writer indexes each batch with one <c>INSERT … SELECT</c> in the
/// batch's transaction (<see cref="IndexBatchSql"/>), which is faster than a trigger per row. Anything else that
/// inserts rows into <c>entries</c> must do the same (or run the FTS5 <c>rebuild</c> command).
/// </remarks>
internal static class Schema
{
    /// <summary>The version this release writes.</summary>
    public const int CurrentVersion = 2;

    public const string InsertEntrySql =
        "INSERT INTO entries (session_id, timestamp, mode, channel, direction, content, metadata) " +
        "VALUES (@SessionId, @Timestamp, @Mode, @Channel, @Direction, @Content, @Metadata)";

    public const string IndexBatchSql = "INSERT INTO entries_fts (rowid, content) SELECT id, content FROM entries WHERE id > @After";

    public const string InsertTriggerSql = """
        CREATE TRIGGER IF NOT EXISTS entries_ai AFTER INSERT ON entries BEGIN
            INSERT INTO entries_fts (rowid, content) VALUES (new.id, new.content);
        END;
        """;

    private const string Version1 = """
        CREATE TABLE IF NOT EXISTS sessions (
            id         TEXT PRIMARY KEY NOT NULL,
            started_at TEXT NOT NULL,
            cwd        TEXT,
            metadata   TEXT
        );
        CREATE TABLE IF NOT EXISTS entries (
            id         INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions (id),
            timestamp  TEXT NOT NULL,
            mode       TEXT NOT NULL,
            channel    TEXT NOT NULL,
            direction  TEXT NOT NULL CHECK (direction IN ('input', 'output')),
            content    TEXT NOT NULL,
            metadata   TEXT
        );
        CREATE INDEX IF NOT EXISTS idx_entries_session ON entries (session_id);
        CREATE INDEX IF NOT EXISTS idx_entries_mode ON entries (mode);
        CREATE INDEX IF NOT EXISTS idx_entries_channel ON entries (channel);
        CREATE INDEX IF NOT EXISTS idx_entries_timestamp ON entries (timestamp);
        CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5 (content, content = 'entries', content_rowid = 'id');
        CREATE TRIGGER IF NOT EXISTS entries_ad AFTER DELETE ON entries BEGIN
            INSERT INTO entries_fts (entries_fts, rowid, content) VALUES ('delete', old.id, old.content);
        END;
        CREATE TRIGGER IF NOT EXISTS entries_au AFTER UPDATE OF content ON entries BEGIN
            INSERT INTO entries_fts (entries_fts, rowid, content) VALUES ('delete', old.id, old.content);
            INSERT INTO entries_fts (rowid, content) VALUES (new.id, new.content);
        END;
        """;

    /// <summary>
    /// Version 2 adds FTS5 prefix indexes for prefixes of 2 to 6 characters. Without them a prefix query newest
    /// first (<c>node1*</c>) must merge the doclists of every matching term before it can return the first rowid
    /// (about 50 ms at a million entries); with them a prefix of an indexed length is read like one term, backwards
    /// by rowid, stopping at the limit. FTS5 options cannot be altered, so the table is recreated and rebuilt from
    /// <c>entries</c> (seconds per million entries, once). Longer prefixes still merge.
    /// </summary>
    private const string Version2 = """
        DROP TABLE IF EXISTS entries_fts;
        CREATE VIRTUAL TABLE entries_fts USING fts5 (content, content = 'entries', content_rowid = 'id', prefix = '2 3 4 5 6');
        INSERT INTO entries_fts (entries_fts) VALUES ('rebuild');
        """;

    /// <summary>Migrations[i] takes a file from version i to version i + 1.</summary>
    private static readonly string[] Migrations = [Version1, Version2];

    /// <summary>Brings the file to <see cref="CurrentVersion"/>, or throws if it is newer.</summary>
    public static void Migrate(SqliteConnection connection, string path)
    {
        var version = connection.ExecuteScalar<long>("PRAGMA user_version");
        CheckNotNewer(version, path);
        if (version == CurrentVersion)
        {
            return;
        }

        // BEGIN IMMEDIATE: one opener migrates, the others wait for it and then find the work done.
        using var transaction = connection.BeginTransaction(deferred: false);
        version = connection.ExecuteScalar<long>("PRAGMA user_version", transaction: transaction);
        CheckNotNewer(version, path);
        for (var v = version; v < CurrentVersion; v++)
        {
            connection.Execute(Migrations[v], transaction: transaction);
        }

        // PRAGMA takes no parameters; the value is our own constant.
        connection.Execute($"PRAGMA user_version = {CurrentVersion}", transaction: transaction);
        transaction.Commit();
    }

    internal static void CheckNotNewer(long version, string path)
    {
        if (version > CurrentVersion)
        {
            throw new StoreException(
                $"The session store '{path}' has schema version {version}, but this release of Dataflow knows versions up to {CurrentVersion}. " +
                "Open it with a newer Dataflow, or point the store at another file.");
        }

        if (version < 0)
        {
            throw new StoreException($"The session store '{path}' has an invalid schema version {version}; it was not written by Dataflow.");
        }
    }
}

using Dapper;
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
    public const int CurrentVersion = 6;

    public const string InsertEntrySql =
        "INSERT INTO entries (session_id, timestamp, mode, channel, direction, content, metadata, run_id, event) " +
        "VALUES (@SessionId, @Timestamp, @Mode, @Channel, @Direction, @Content, @Metadata, @RunId, @Event)";

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

    /// <summary>
    /// Version 3 stores each entry's run id and event kind in indexed columns, filled by the writer from the store
    /// seam, so that one run's entries, the session of a run and a kind filter are index lookups instead of
    /// <c>json_extract</c> over every entry. Older rows are filled from their JSON metadata here, once.
    /// </summary>
    private const string Version3 = """
        ALTER TABLE entries ADD COLUMN run_id TEXT;
        ALTER TABLE entries ADD COLUMN event TEXT;
        UPDATE entries SET
            run_id = CAST(json_extract(metadata, '$.run_id') AS TEXT),
            event = CAST(json_extract(metadata, '$.event') AS TEXT)
        WHERE json_valid(metadata);
        CREATE INDEX idx_entries_run ON entries (run_id, session_id);
        CREATE INDEX idx_entries_event ON entries (event);
        """;

    /// <summary>
    /// Version 4 indexes what a page of a session's runs needs (<see cref="SessionHistory.RunsAsync"/>): one session's
    /// entries of one event kind in id order, so that its start events (every run) or its fail events (the failed runs)
    /// are read newest first and stop at the page size; and, for the runs that ended, the node they ended at (a
    /// partial index over the end events only), so that a filter on the failing node is an index range too. The
    /// single-column session index is a prefix of the new one, so it goes.
    /// </summary>
    private const string Version4 = """
        CREATE INDEX idx_entries_session_event ON entries (session_id, event);
        CREATE INDEX idx_entries_session_end_node ON entries (session_id, json_extract(metadata, '$.node')) WHERE event IN ('complete', 'fail', 'cancel');
        DROP INDEX IF EXISTS idx_entries_session;
        """;

    /// <summary>
    /// Version 5 adds durable runs' checkpoints: every checkpoint of a run (<c>checkpoints</c>, keyed by run and
    /// sequence), each run's latest state (<c>durable_runs</c>, upserted with each batch, indexed by graph and state so
    /// that resume finds the unfinished runs without scanning), what each graph fingerprint stands for
    /// (<c>checkpoint_graphs</c>), and the run id prefixes reserved by engines (<c>run_prefixes</c>).
    /// </summary>
    private const string Version5 = """
        CREATE TABLE run_prefixes (
            id         INTEGER PRIMARY KEY,
            session_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE checkpoint_graphs (
            fingerprint TEXT PRIMARY KEY NOT NULL,
            graph       TEXT NOT NULL,
            description TEXT NOT NULL
        );
        CREATE TABLE checkpoints (
            run_id         TEXT NOT NULL,
            seq            INTEGER NOT NULL,
            session_id     TEXT NOT NULL,
            graph          TEXT NOT NULL,
            fingerprint    TEXT NOT NULL,
            state          TEXT NOT NULL,
            step           INTEGER NOT NULL,
            node_type      TEXT NOT NULL,
            node           TEXT NOT NULL,
            trace          TEXT,
            gates          TEXT,
            gates_resolved INTEGER NOT NULL,
            gate_number    INTEGER NOT NULL,
            iterations     INTEGER NOT NULL,
            options        TEXT,
            error          TEXT,
            rerun_of       TEXT,
            timestamp      TEXT NOT NULL,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID;
        CREATE TABLE durable_runs (
            run_id     TEXT PRIMARY KEY NOT NULL,
            graph      TEXT NOT NULL,
            state      TEXT NOT NULL,
            seq        INTEGER NOT NULL,
            session_id TEXT NOT NULL,
            rerun_of   TEXT,
            updated_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX idx_durable_runs_graph ON durable_runs (graph, state);
        CREATE INDEX idx_durable_runs_rerun ON durable_runs (rerun_of) WHERE rerun_of IS NOT NULL;
        """;

    /// <summary>
    /// Version 6 keeps checkpoints as a log (<see cref="CheckpointLog"/>): one <c>checkpoint_log</c> row per written
    /// batch, graph and run-id bucket, its checkpoints a JSON array in <c>body</c> (deflated), instead of a row per checkpoint and
    /// an upserted row per run; a batch of a thousand checkpoints is a few inserts. Version 5's rows move into the log
    /// (one row each, its body plain JSON, in the order they were made), and its two tables go.
    /// </summary>
    private const string Version6 = """
        CREATE TABLE checkpoint_log (
            id          INTEGER PRIMARY KEY,
            session_id  TEXT NOT NULL,
            graph       TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            run_prefix  TEXT NOT NULL,
            bucket      INTEGER NOT NULL,
            checkpoints INTEGER NOT NULL,
            finals      INTEGER NOT NULL,
            failed      INTEGER NOT NULL,
            body        BLOB NOT NULL
        );
        CREATE INDEX idx_checkpoint_log_run ON checkpoint_log (run_prefix, bucket);
        CREATE INDEX idx_checkpoint_log_graph ON checkpoint_log (graph);
        INSERT INTO checkpoint_log (session_id, graph, fingerprint, run_prefix, bucket, checkpoints, finals, failed, body)
        SELECT session_id, graph, fingerprint,
               CASE WHEN instr(run_id, '-') > 1 THEN substr(run_id, 1, instr(run_id, '-') - 1) ELSE run_id END,
               CASE WHEN instr(run_id, '-') > 1 THEN CAST(substr(run_id, instr(run_id, '-') + 1) AS INTEGER) >> 10 ELSE 0 END,
               1,
               state IN ('Done', 'Failed', 'Cancelled'),
               state = 'Failed',
               CAST(json_array(json_object(
                   'r', run_id, 's', seq, 'st', state, 'p', step, 't', node_type, 'n', json(node),
                   'tr', json(trace), 'g', json(gates), 'gr', json(CASE WHEN gates_resolved THEN 'true' ELSE 'false' END),
                   'gn', gate_number, 'i', iterations, 'o', json(options), 'e', error, 'ro', rerun_of, 'ts', timestamp)) AS BLOB)
        FROM checkpoints
        ORDER BY timestamp, run_id, seq;
        DROP TABLE checkpoints;
        DROP TABLE durable_runs;
        """;

    /// <summary>Migrations[i] takes a file from version i to version i + 1.</summary>
    private static readonly string[] Migrations = [Version1, Version2, Version3, Version4, Version5, Version6];

    private static readonly string[] SessionColumns = ["id", "started_at", "cwd", "metadata"];

    private static readonly string[] EntryColumns = ["id", "session_id", "timestamp", "mode", "channel", "direction", "content", "metadata"];

    private static readonly string[] EntryColumnsV3 = [.. EntryColumns, "run_id", "event"];

    /// <summary>
    /// Checks, reading only, that the file behind <paramref name="connection"/> is a store this release can open: an
    /// SQLite file with no schema at all (returns false: a new store), or one with the store's tables and columns for
    /// its version (returns true). Throws <see cref="NotAStoreException"/> or <see cref="StoreSchemaTooNewException"/> otherwise.
    /// </summary>
    public static bool Recognize(SqliteConnection connection, string path)
    {
        var version = connection.ExecuteScalar<long>("PRAGMA user_version");
        CheckNotNewer(version, path);
        var objects = connection.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite!_%' ESCAPE '!'");
        if (objects == 0 && version == 0)
        {
            return false;
        }

        CheckColumns(connection, path, "sessions", SessionColumns);
        CheckColumns(connection, path, "entries", version >= 3 ? EntryColumnsV3 : EntryColumns);
        if (connection.ExecuteScalar<long>("SELECT count(*) FROM sqlite_master WHERE name = 'entries_fts'") == 0)
        {
            throw StoreErrors.NotAStore(path, "it has no entries_fts table");
        }

        return true;
    }

    private static void CheckColumns(SqliteConnection connection, string path, string table, string[] expected)
    {
        var columns = connection.Query<string>("SELECT name FROM pragma_table_info(@Table) ORDER BY cid", new { Table = table }).ToArray();
        if (columns.Length == 0)
        {
            throw StoreErrors.NotAStore(path, $"it has no {table} table");
        }

        if (!columns.SequenceEqual(expected, StringComparer.OrdinalIgnoreCase))
        {
            throw StoreErrors.NotAStore(path, $"its {table} table has the columns ({string.Join(", ", columns)}), not ({string.Join(", ", expected)})");
        }
    }

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
            throw new StoreSchemaTooNewException(
                $"The session store '{path}' has schema version {version}, but this release of Dataflow knows versions up to {CurrentVersion}. " +
                "Open it with a newer Dataflow, or point the store at another file.")
            {
                FileVersion = version,
                KnownVersion = CurrentVersion,
            };
        }

        if (version < 0)
        {
            throw StoreErrors.NotAStore(path, $"its schema version {version} is negative");
        }
    }
}

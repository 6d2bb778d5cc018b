using System.Diagnostics;
using System.Reflection;
using Dapper;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

/// <summary>A temp folder per test, deleted in TearDown, and helpers to open stores and child processes in it.</summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public abstract class StoreTestBase
{
    protected static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly List<SessionStore> _stores = [];

    protected string Folder { get; private set; } = string.Empty;

    protected string DbPath => Path.Combine(Folder, "nested", "history.db");

    [SetUp]
    public void CreateFolder()
    {
        Folder = Path.Combine(Path.GetTempPath(), "dataflow-sqlite-tests", Guid.NewGuid().ToString("N"));
    }

    [TearDown]
    public async Task DeleteFolder()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync().AsTask().WaitAsync(Guard);
        }

        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }

    protected SessionStore Open(SessionStoreOptions? options = null)
    {
        var store = new SessionStore(DbPath, options);
        _stores.Add(store);
        return store;
    }

    protected SessionStore OpenIndexedByTrigger(SessionStoreOptions? options = null)
    {
        var store = new SessionStore(DbPath, options, indexByTrigger: true);
        _stores.Add(store);
        return store;
    }

    protected long Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        return connection.ExecuteScalar<long>(sql);
    }

    /// <summary>Takes a current store file back to schema version 4: no checkpoint tables.</summary>
    protected void DowngradeToVersion4()
    {
        foreach (var sql in new[] { "DROP TABLE run_prefixes", "DROP TABLE checkpoint_graphs", "DROP TABLE checkpoint_log", "PRAGMA user_version = 4" })
        {
            Scalar(sql);
        }
    }

    /// <summary>Takes a current store file back to schema version 3: no checkpoint tables, no run-list indexes.</summary>
    protected void DowngradeToVersion3()
    {
        DowngradeToVersion4();
        foreach (var sql in new[] { "DROP INDEX IF EXISTS idx_entries_session_event", "DROP INDEX IF EXISTS idx_entries_session_end_node", "CREATE INDEX IF NOT EXISTS idx_entries_session ON entries (session_id)", "PRAGMA user_version = 3" })
        {
            Scalar(sql);
        }
    }

    /// <summary>Takes a current store file back to schema version 2: no run_id and event columns, no checkpoint tables.</summary>
    protected void DowngradeToVersion2()
    {
        DowngradeToVersion3();
        foreach (var sql in new[] { "DROP INDEX IF EXISTS idx_entries_session_event", "DROP INDEX IF EXISTS idx_entries_session_end_node", "CREATE INDEX IF NOT EXISTS idx_entries_session ON entries (session_id)", "DROP INDEX idx_entries_run", "DROP INDEX idx_entries_event", "ALTER TABLE entries DROP COLUMN run_id", "ALTER TABLE entries DROP COLUMN event", "PRAGMA user_version = 2" })
        {
            Scalar(sql);
        }
    }

    protected string ScalarText(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        return connection.ExecuteScalar<string>(sql) ?? string.Empty;
    }

    protected static Process StartChild(params string[] args) => StartChildAs([], args);

    /// <summary>Starts the child through <paramref name="prefix"/> (such as <c>setpriv</c> to run it as another user).</summary>
    protected static Process StartChildAs(string[] prefix, params string[] args)
    {
        var childPath = typeof(StoreTestBase).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ChildPath").Value!;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var info = new ProcessStartInfo(prefix.Length > 0 ? prefix[0] : dotnet)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var part in prefix.Skip(1).Concat(prefix.Length > 0 ? [dotnet] : []))
        {
            info.ArgumentList.Add(part);
        }

        info.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        info.ArgumentList.Add(Path.GetFullPath(childPath));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("Could not start the child process.");
    }
}

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

        SqliteConnection.ClearAllPools();
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

    protected string ScalarText(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        return connection.ExecuteScalar<string>(sql) ?? string.Empty;
    }

    protected static Process StartChild(params string[] args)
    {
        var childPath = typeof(StoreTestBase).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ChildPath").Value!;
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.GetFullPath(childPath));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("Could not start the child process.");
    }
}

using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

/// <summary>
/// Read-only opening and the distinct open errors. Tests run as root, for whom file modes do not stop access, so the
/// read-only cases run the child process as the <c>nobody</c> user (through <c>setpriv</c>): the database and folder
/// belong to root, and their modes decide what nobody may write.
/// </summary>
[NonParallelizable]
public sealed class AccessTests : StoreTestBase
{
    [Test]
    public async Task History_LeavesNoWalOrShmBehind()
    {
        var store = Open();
        await store.RecordAsync("M", "c", "output", "before");
        await store.DisposeAsync();
        Assume.That(File.Exists(DbPath + "-wal"), Is.False, "a closed store removes its -wal file");

        using (var history = SessionHistory.Open(DbPath))
        {
            Assert.That(history.Recent().Select(e => e.Content), Is.EqualTo(new[] { "before" }));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(File.Exists(DbPath + "-wal"), Is.False, "-wal left behind");
            Assert.That(File.Exists(DbPath + "-shm"), Is.False, "-shm left behind");
        }
    }

    [Test]
    public async Task ReadOnlyFile_CanBeRead_AndAWriterFailsClearly_BeforeCreatingSideFiles()
    {
        await SeedAsync();
        Chmod(Path.GetDirectoryName(DbPath)!, "777");
        Chmod(DbPath, "644");

        var (read, _) = await RunAsNobodyAsync("read");
        var (open, message) = await RunAsNobodyAsync("open");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read, Is.EqualTo("read 1"));
            Assert.That(open, Is.EqualTo("error StoreReadOnlyException False"));
            Assert.That(message, Does.Contain("read-only file"));
            Assert.That(File.Exists(DbPath + "-wal") || File.Exists(DbPath + "-shm"), Is.False, "side files were left");
        }
    }

    [Test]
    public async Task ReadOnlyDirectory_CanBeRead_AndAWriterFailsClearly()
    {
        await SeedAsync();
        Chmod(Path.GetDirectoryName(DbPath)!, "755");
        Chmod(DbPath, "666");

        var (read, _) = await RunAsNobodyAsync("read");
        var (open, message) = await RunAsNobodyAsync("open");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(read, Is.EqualTo("read 1"));
            Assert.That(open, Is.EqualTo("error StoreReadOnlyException True"));
            Assert.That(message, Does.Contain("read-only folder"));
            Assert.That(File.Exists(DbPath + "-wal") || File.Exists(DbPath + "-shm"), Is.False, "side files were left");
        }
    }

    [Test]
    public async Task LockedDatabase_OnOpen_ThrowsStoreLocked()
    {
        await SeedAsync();
        using var holder = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        holder.Open();
        using var transaction = holder.BeginTransaction(deferred: false);
        using (var command = holder.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO sessions (id, started_at) VALUES ('holder', 'now')";
            command.ExecuteNonQuery();
        }

        var ex = Assert.Throws<StoreLockedException>(() => new SessionStore(DbPath, new SessionStoreOptions { BusyTimeout = TimeSpan.FromMilliseconds(50) }));
        Assert.That(ex!.Message, Does.Contain("locked by another process"));
    }

    [Test]
    public async Task LockedDatabase_WhileWriting_ShowsAStall_ThenRecovers()
    {
        var firstFailure = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = Open(new SessionStoreOptions { BusyTimeout = TimeSpan.FromMilliseconds(20), OnWriteError = _ => firstFailure.TrySetResult() });
        using var holder = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        holder.Open();
        var transaction = holder.BeginTransaction(deferred: false);

        await store.RecordAsync("M", "c", "output", "waits for the lock");
        var flush = store.FlushAsync();
        await firstFailure.Task.WaitAsync(Guard);
        var stalled = store.Health;
        transaction.Rollback();
        transaction.Dispose();
        await flush.WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(stalled.StalledSince, Is.Not.Null);
            Assert.That(stalled.LastError, Is.TypeOf<StoreLockedException>());
            Assert.That(stalled.LastError!.Message, Does.Contain("locked by another process"));
            Assert.That(stalled.Stopped, Is.False);
            Assert.That(store.Health.StalledSince, Is.Null);
            Assert.That(store.Health.Written, Is.EqualTo(1));
            Assert.That(store.Health.Failures, Is.GreaterThanOrEqualTo(1));
        }
    }

    private static void Chmod(string path, string mode)
    {
        using var process = Process.Start("chmod", [mode, path]);
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.Zero, $"chmod {mode} {path}");
    }

    private async Task SeedAsync()
    {
        var store = new SessionStore(DbPath);
        await store.RecordAsync("M", "c", "output", "seeded");
        await store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Chmod(Folder, "755");
    }

    private async Task<(string Output, string Error)> RunAsNobodyAsync(string mode)
    {
        using var child = StartChildAs(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], mode, DbPath);
        var output = child.StandardOutput.ReadToEndAsync();
        var error = await child.StandardError.ReadToEndAsync().WaitAsync(Guard);
        await child.WaitForExitAsync().WaitAsync(Guard);
        Assert.That(child.ExitCode, Is.Zero, error);
        return ((await output).Trim(), error);
    }
}

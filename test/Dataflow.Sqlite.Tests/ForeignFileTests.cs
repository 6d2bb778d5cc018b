using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

/// <summary>A file that is neither empty nor a Dataflow store is refused before anything is written to it.</summary>
/// <remarks>
/// Alone: it clears every SQLite pool of the process before reading the file back, and a clear that races another
/// fixture's open disposes that fixture's connection (Microsoft.Data.Sqlite reclaims a connection being activated).
/// Other fixtures leave the pools alone; their stores release their own on dispose.
/// </remarks>
[NonParallelizable]
public sealed class ForeignFileTests : StoreTestBase
{
    private static IEnumerable<TestCaseData> ForeignFiles()
    {
        yield return new TestCaseData("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);", false).SetName("SqliteWithUnrelatedTables");
        yield return new TestCaseData("CREATE TABLE sessions (id TEXT, owner TEXT, payload BLOB); INSERT INTO sessions VALUES ('a', 'b', x'00');", false).SetName("SessionsTableWithOtherColumns");
        yield return new TestCaseData("PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');", false).SetName("ForeignWalDatabase");
        yield return new TestCaseData(null, true).SetName("NotSqlite");
    }

    [TestCaseSource(nameof(ForeignFiles))]
    public void Open_ForeignFile_IsRefusedAndLeftByteForByte(string? sql, bool plainText)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        if (plainText)
        {
            File.WriteAllText(DbPath, "name,total\nana,3\n");
        }
        else
        {
            CreateForeign(sql!);
        }

        var before = Hash(DbPath);

        var ex = Assert.Throws<NotAStoreException>(() => new SessionStore(DbPath));
        var historyEx = Assert.Throws<NotAStoreException>(() => SessionHistory.Open(DbPath));

        SqliteConnection.ClearAllPools();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.Message, Does.Contain(DbPath).And.Contain("not a Dataflow session store").And.Contain("Nothing was written"));
            Assert.That(historyEx!.Message, Does.Contain("not a Dataflow session store"));
            Assert.That(Hash(DbPath), Is.EqualTo(before), "the file changed");
            Assert.That(File.Exists(DbPath + "-wal") || File.Exists(DbPath + "-shm"), Is.False, "side files were left");
        }
    }

    [Test]
    public async Task Open_NewerSchema_IsRefusedAndLeftByteForByte()
    {
        await Open().DisposeAsync();
        Scalar("PRAGMA user_version = 42");
        SqliteConnection.ClearAllPools();
        var before = Hash(DbPath);

        var ex = Assert.Throws<StoreSchemaTooNewException>(() => new SessionStore(DbPath));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.FileVersion, Is.EqualTo(42));
            Assert.That(ex.KnownVersion, Is.EqualTo(Schema.CurrentVersion));
            Assert.That(Hash(DbPath), Is.EqualTo(before));
        }
    }

    [Test]
    public async Task Open_ZeroByteFile_BecomesAStore()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        await File.WriteAllBytesAsync(DbPath, []);

        var store = Open();
        await store.RecordAsync("M", "c", "output", "hello");
        await store.FlushAsync().WaitAsync(Guard);

        Assert.That(store.Search("hello"), Has.Count.EqualTo(1));
    }

    private static string Hash(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    private void CreateForeign(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}

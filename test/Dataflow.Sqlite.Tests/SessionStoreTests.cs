using System.Text.Json;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Sqlite.Tests;

public sealed class SessionStoreTests : StoreTestBase
{
    [Test]
    public void Constructor_CreatesFolderFileAndSession()
    {
        var store = Open(new SessionStoreOptions { WorkingDirectory = "/somewhere", SessionMetadata = new Dictionary<string, object?> { ["user"] = "ana" } });

        var sessions = store.Sessions();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(File.Exists(DbPath), Is.True);
            Assert.That(store.Path, Is.EqualTo(Path.GetFullPath(DbPath)));
            Assert.That(Guid.Parse(store.SessionId).Version, Is.EqualTo(7));
            Assert.That(sessions, Has.Count.EqualTo(1));
            Assert.That(sessions[0].Id, Is.EqualTo(store.SessionId));
            Assert.That(sessions[0].Cwd, Is.EqualTo("/somewhere"));
            Assert.That(sessions[0].MetadataJson, Does.Contain("\"user\":\"ana\""));
            Assert.That(sessions[0].EntryCount, Is.Zero);
            Assert.That(ScalarText("PRAGMA journal_mode"), Is.EqualTo("wal"));
            Assert.That(Scalar("PRAGMA user_version"), Is.EqualTo(Schema.CurrentVersion));
        }
    }

    [Test]
    public async Task RecordAsync_ThenFlush_PersistsEveryField()
    {
        var store = Open();
        await store.RecordAsync("GRAPH", "graph", "input", "hello world", new Dictionary<string, object?> { ["n"] = 3 });
        await store.FlushAsync().WaitAsync(Guard);

        var entries = store.SessionEntries();
        Assert.That(entries, Has.Count.EqualTo(1));
        var entry = entries[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.SessionId, Is.EqualTo(store.SessionId));
            Assert.That(entry.Mode, Is.EqualTo("GRAPH"));
            Assert.That(entry.Channel, Is.EqualTo("graph"));
            Assert.That(entry.Direction, Is.EqualTo("input"));
            Assert.That(entry.Content, Is.EqualTo("hello world"));
            Assert.That(entry.MetadataJson, Is.EqualTo("{\"n\":3}"));
            Assert.That(entry.Timestamp, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
            Assert.That(store.Written, Is.EqualTo(1));
        }
    }

    [TestCase("in")]
    [TestCase("OUTPUT")]
    [TestCase("")]
    public void Record_WithBadDirection_ThrowsArgumentExceptionNamingIt(string direction)
    {
        var store = Open();

        var ex = Assert.Throws<ArgumentException>(() => store.Record("GRAPH", "graph", direction, "x"));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.ParamName, Is.EqualTo("direction"));
            Assert.That(ex.Message, Does.Contain($"'{direction}'"));
        }
    }

    [Test]
    public async Task Record_LongContent_IsTruncatedAndMarked()
    {
        var store = Open();
        store.Record("GRAPH", "graph", "output", new string('x', 25_000), new Dictionary<string, object?> { ["kept"] = "yes" });
        store.Record("GRAPH", "graph", "output", new string('y', SessionStore.MaxContentLength));
        await store.FlushAsync().WaitAsync(Guard);

        var entries = store.SessionEntries();
        using var metadata = JsonDocument.Parse(entries[0].MetadataJson!);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entries[0].Content, Has.Length.EqualTo(SessionStore.MaxContentLength));
            Assert.That(metadata.RootElement.GetProperty("truncated").GetBoolean(), Is.True);
            Assert.That(metadata.RootElement.GetProperty("original_length").GetInt32(), Is.EqualTo(25_000));
            Assert.That(metadata.RootElement.GetProperty("kept").GetString(), Is.EqualTo("yes"));
            Assert.That(entries[1].Content, Has.Length.EqualTo(SessionStore.MaxContentLength));
            Assert.That(entries[1].MetadataJson, Is.Null);
        }
    }

    [Test]
    public void Options_WhenInvalid_ThrowsNamingEveryProblem()
    {
        var ex = Assert.Throws<ArgumentException>(() => Open(new SessionStoreOptions { BatchSize = 0, QueueCapacity = 0, FlushInterval = TimeSpan.FromSeconds(-1) }));
        Assert.That(ex!.Message, Does.Contain("BatchSize").And.Contain("QueueCapacity").And.Contain("FlushInterval"));
    }

    [Test]
    public async Task RecordAsync_WithTinyQueue_WaitsAndNeverDrops()
    {
        var store = Open(new SessionStoreOptions { QueueCapacity = 4, BatchSize = 16 });
        for (var i = 0; i < 3000; i++)
        {
            await store.RecordAsync("M", "c", "output", $"entry {i}");
        }

        await store.FlushAsync().WaitAsync(Guard);
        Assert.That(store.Written, Is.EqualTo(3000));
        Assert.That(Scalar("SELECT count(*) FROM entries"), Is.EqualTo(3000));
    }

    [Test]
    public async Task Record_WhenQueueIsFull_ThrowsStoreFullAndRecordsNothingSilently()
    {
        var store = Open(new SessionStoreOptions { QueueCapacity = 1, BatchSize = 1, FlushInterval = TimeSpan.Zero });
        var accepted = 0;
        StoreFullException? full = null;
        for (var i = 0; i < 200_000 && full is null; i++)
        {
            try
            {
                store.Record("M", "c", "output", $"entry {i}");
                accepted++;
            }
            catch (StoreFullException ex)
            {
                full = ex;
            }
        }

        await store.FlushAsync().WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(full, Is.Not.Null);
            Assert.That(full!.Message, Does.Contain("RecordAsync"));
            Assert.That(store.Written, Is.EqualTo(accepted));
        }
    }

    [Test]
    public async Task FlushAsync_CommitsEverythingQueuedBefore_AcrossManyBatches()
    {
        var store = Open(new SessionStoreOptions { BatchSize = 100, FlushInterval = TimeSpan.FromSeconds(10) });
        for (var i = 0; i < 2050; i++)
        {
            store.Record("M", "c", "output", $"entry {i}");
        }

        await store.FlushAsync().WaitAsync(Guard);
        Assert.That(Scalar("SELECT count(*) FROM entries"), Is.EqualTo(2050));
    }

    [Test]
    public async Task PartialBatch_IsWrittenAfterFlushInterval_WithoutFlush()
    {
        await using var store = new SessionStore(DbPath, new SessionStoreOptions { BatchSize = 1000, FlushInterval = TimeSpan.FromMilliseconds(20) });
        store.Record("M", "c", "output", "lonely");

        // Polls the counter (no sleeps): the interval, not a flush, must get the entry written.
        var deadline = DateTime.UtcNow + Guard;
        while (store.Written == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Yield();
        }

        Assert.That(store.Written, Is.EqualTo(1));
    }

    [Test]
    public async Task DisposeAsync_WritesWhatIsQueued_ThenRejectsUse()
    {
        var store = new SessionStore(DbPath, new SessionStoreOptions { FlushInterval = TimeSpan.FromHours(1) });
        for (var i = 0; i < 700; i++)
        {
            store.Record("M", "c", "output", $"entry {i}");
        }

        await store.DisposeAsync().AsTask().WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar("SELECT count(*) FROM entries"), Is.EqualTo(700));
            Assert.That(() => store.Record("M", "c", "output", "late"), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(async () => await store.FlushAsync(), Throws.TypeOf<ObjectDisposedException>());
            Assert.That(() => store.Recent(), Throws.TypeOf<ObjectDisposedException>());
        }

        await store.DisposeAsync();
    }

    [Test]
    public void Reopen_KeepsSchemaVersion_AndStartsANewSession()
    {
        var first = Open();
        var second = Open();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(second.SessionId, Is.Not.EqualTo(first.SessionId));
            Assert.That(second.Sessions().Select(s => s.Id), Is.EquivalentTo(new[] { first.SessionId, second.SessionId }));
            Assert.That(Scalar("PRAGMA user_version"), Is.EqualTo(Schema.CurrentVersion));
        }
    }

    [Test]
    public async Task Open_FileWithNewerSchemaVersion_ThrowsClearStoreException()
    {
        await Open().DisposeAsync();
        Scalar("PRAGMA user_version = 99");

        var ex = Assert.Throws<StoreSchemaTooNewException>(() => new SessionStore(DbPath));
        Assert.That(ex!.Message, Does.Contain("schema version 99").And.Contain("newer Dataflow"));
    }

    [Test]
    public void Open_FileThatIsNotADatabase_ThrowsStoreException()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        File.WriteAllText(DbPath, new string('z', 4096));

        var ex = Assert.Throws<NotAStoreException>(() => new SessionStore(DbPath));
        Assert.That(ex!.Message, Does.Contain(DbPath));
    }

    [Test]
    public async Task Open_VersionZeroFileWithOriginalTables_IsMigrated()
    {
        // A file from before versioning: the tables exist, user_version is 0.
        await Open().DisposeAsync();
        DowngradeToVersion2();
        Scalar("PRAGMA user_version = 0");

        var store = Open();
        await store.RecordAsync("M", "c", "output", "after migration");
        await store.FlushAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar("PRAGMA user_version"), Is.EqualTo(Schema.CurrentVersion));
            Assert.That(store.Search("migration"), Has.Count.EqualTo(1));
        }
    }

    [Test]
    public async Task Open_VersionOneFile_IsMigratedToPrefixIndexes_AndKeepsItsEntriesSearchable()
    {
        var old = Open();
        foreach (var content in new[] { "node12 started", "node7 started", "completed fine" })
        {
            await old.RecordAsync("M", "c", "output", content);
        }

        await old.DisposeAsync();

        // Put the file back to version 1: the FTS5 table without prefix indexes.
        DowngradeToVersion2();
        Scalar("DROP TABLE entries_fts");
        Scalar("CREATE VIRTUAL TABLE entries_fts USING fts5 (content, content = 'entries', content_rowid = 'id')");
        Scalar("INSERT INTO entries_fts (entries_fts) VALUES ('rebuild')");
        Scalar("PRAGMA user_version = 1");

        var store = Open();
        await store.RecordAsync("M", "c", "output", "node1 after migration");
        await store.FlushAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar("PRAGMA user_version"), Is.EqualTo(Schema.CurrentVersion));
            Assert.That(ScalarText("SELECT sql FROM sqlite_master WHERE name = 'entries_fts'"), Does.Contain("prefix"));
            Assert.That(store.Search("node1*").Select(e => e.Content), Is.EqualTo(new[] { "node1 after migration", "node12 started" }));
            Assert.That(store.Search("compl*").Select(e => e.Content), Is.EqualTo(new[] { "completed fine" }));
            Assert.That(Scalar("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'started'"), Is.EqualTo(2));
        }
    }
}

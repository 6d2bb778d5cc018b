using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Sqlite.Tests;

public sealed class SessionHistoryTests : StoreTestBase
{
    [Test]
    public async Task Open_AddsNoSessionRow_AndWritesNothing()
    {
        await Open().DisposeAsync();
        var before = Scalar("SELECT count(*) FROM sessions");

        using (var history = SessionHistory.Open(DbPath))
        {
            history.Recent();
            history.Search("anything");
            history.Sessions();
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar("SELECT count(*) FROM sessions"), Is.EqualTo(before).And.EqualTo(1));
            Assert.That(Scalar("SELECT count(*) FROM entries"), Is.Zero);
        }
    }

    [Test]
    public async Task Open_SeesAnotherOpenStoresFlushedEntries()
    {
        var store = Open();
        await store.RecordAsync("GRAPH", "graph", "output", "first deploy", new Dictionary<string, object?> { ["run_id"] = "g1" });
        await store.FlushAsync().WaitAsync(Guard);
        using var history = SessionHistory.Open(DbPath);
        var seenBefore = history.Recent().Count;

        await store.RecordAsync("GRAPH", "graph", "output", "second deploy", new Dictionary<string, object?> { ["run_id"] = "g2" });
        await store.FlushAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(seenBefore, Is.EqualTo(1));
            Assert.That(history.Search("deploy").Select(e => e.Content), Is.EqualTo(new[] { "second deploy", "first deploy" }));
            Assert.That(history.Recent().Select(e => e.Content), Is.EqualTo(store.Recent().Select(e => e.Content)));
            Assert.That(history.SessionEntries(store.SessionId), Has.Count.EqualTo(2));
            Assert.That(history.SessionEntries(store.SessionId, "g2").Select(e => e.Content), Is.EqualTo(new[] { "second deploy" }));
            Assert.That(history.Sessions().Single().EntryCount, Is.EqualTo(2));
        }
    }

    [Test]
    public async Task SessionEntries_ByRunId_KeepsOnlyThatRunInOrder_AndSkipsMetadataThatIsNotJson()
    {
        var store = Open();
        foreach (var (run, content) in new[] { ("g1", "a"), ("g2", "b"), ("g1", "c"), ("g10", "d") })
        {
            await store.RecordAsync("GRAPH", "graph", "output", content, new Dictionary<string, object?> { ["run_id"] = run });
        }

        await store.RecordAsync("GRAPH", "graph", "output", "no metadata");
        await store.FlushAsync().WaitAsync(Guard);
        Scalar("UPDATE entries SET metadata = 'not json' WHERE content = 'no metadata'");
        using var history = SessionHistory.Open(DbPath);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(history.SessionEntries(store.SessionId, "g1").Select(e => e.Content), Is.EqualTo(new[] { "a", "c" }));
            Assert.That(history.SessionEntries(store.SessionId, "g3"), Is.Empty);
            Assert.That(history.SessionEntries("no-such-session", "g1"), Is.Empty);
        }
    }

    [Test]
    public async Task CrossSessionContext_LeavesOutTheGivenSession_OrNone()
    {
        var first = Open();
        await first.RecordAsync("GRAPH", "graph", "output", "from the first");
        await first.FlushAsync().WaitAsync(Guard);
        var second = Open();
        await second.RecordAsync("GRAPH", "graph", "output", "from the second");
        await second.FlushAsync().WaitAsync(Guard);
        using var history = SessionHistory.Open(DbPath);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(history.CrossSessionContext(second.SessionId), Is.EqualTo(second.CrossSessionContext()));
            Assert.That(history.CrossSessionContext(second.SessionId), Does.Contain("from the first").And.Not.Contain("from the second"));
            Assert.That(history.CrossSessionContext(null), Does.Contain("from the first").And.Contain("from the second"));
        }
    }

    [Test]
    public void Open_MissingFile_ThrowsNamingIt_AndCreatesNothing()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => SessionHistory.Open(DbPath));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.Message, Does.Contain(DbPath));
            Assert.That(ex.FileName, Is.EqualTo(DbPath));
            Assert.That(File.Exists(DbPath), Is.False);
            Assert.That(Directory.Exists(Path.GetDirectoryName(DbPath)), Is.False);
        }
    }

    [Test]
    public async Task Open_FileWithNewerSchemaVersion_ThrowsClearStoreException()
    {
        await Open().DisposeAsync();
        Scalar("PRAGMA user_version = 99");

        var ex = Assert.Throws<StoreSchemaTooNewException>(() => SessionHistory.Open(DbPath));
        Assert.That(ex!.Message, Does.Contain("schema version 99").And.Contain("newer Dataflow").And.Contain(DbPath));
    }

    [Test]
    public void Open_FileThatIsNotADatabase_ThrowsStoreException()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        File.WriteAllText(DbPath, new string('z', 4096));

        var ex = Assert.Throws<NotAStoreException>(() => SessionHistory.Open(DbPath));
        Assert.That(ex!.Message, Does.Contain(DbPath));
    }

    [Test]
    public void Open_EmptyDatabaseWithoutStoreTables_ThrowsStoreException()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DbPath)!);
        Scalar("CREATE TABLE other (x)");

        var ex = Assert.Throws<NotAStoreException>(() => SessionHistory.Open(DbPath));
        Assert.That(ex!.Message, Does.Contain("not a Dataflow session store"));
    }

    [Test]
    public async Task Dispose_ThenQuery_ThrowsObjectDisposed()
    {
        await Open().DisposeAsync();
        var history = SessionHistory.Open(DbPath);

        history.Dispose();
        history.Dispose();

        Assert.That(() => history.Recent(), Throws.TypeOf<ObjectDisposedException>());
    }
}

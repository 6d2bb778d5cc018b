using Dapper;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

public sealed class ConcurrencyTests : StoreTestBase
{
    [Test]
    public async Task TwoStores_InOneProcess_WriteSideBySide_WithoutLosingRows()
    {
        var errors = new List<StoreException>();
        var options = new SessionStoreOptions { BatchSize = 50, OnWriteError = e => { lock (errors) { errors.Add(e); } } };
        var one = Open(options);
        var two = Open(options);

        await Task.WhenAll(WriteAsync(one, "one"), WriteAsync(two, "two")).WaitAsync(Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar("SELECT count(*) FROM entries"), Is.EqualTo(10_000));
            Assert.That(one.Written + two.Written, Is.EqualTo(10_000));
            Assert.That(one.Search("one", new SearchOptions { Limit = 10_000 }), Has.Count.EqualTo(5000));
            Assert.That(Scalar("SELECT count(*) FROM entries_fts WHERE entries_fts MATCH 'two'"), Is.EqualTo(5000));
            Assert.That(errors.Select(e => e.Message), Is.Empty);
        }

        static async Task WriteAsync(SessionStore store, string tag)
        {
            await Task.Yield();
            for (var i = 0; i < 5000; i++)
            {
                await store.RecordAsync("M", "c", "output", $"{tag} row {i}");
            }

            await store.FlushAsync();
        }
    }

    [Test]
    public async Task TwoProcesses_WriteSideBySide_WithoutLosingRows()
    {
        var store = Open(new SessionStoreOptions { BatchSize = 64 });
        using var child = StartChild(DbPath, "4000", "childtag", "exit");
        var writing = Task.Run(async () =>
        {
            for (var i = 0; i < 4000; i++)
            {
                await store.RecordAsync("M", "c", "output", $"parenttag row {i}");
            }

            await store.FlushAsync();
        });

        var line = await child.StandardOutput.ReadLineAsync().WaitAsync(Guard);
        Assert.That(line, Does.StartWith("flushed "), "the child did not flush");
        await writing.WaitAsync(Guard);
        child.StandardInput.Close();
        await child.WaitForExitAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(child.ExitCode, Is.Zero, "the child failed");
            Assert.That(Scalar("SELECT count(*) FROM entries WHERE content LIKE 'childtag row %'"), Is.EqualTo(4000));
            Assert.That(Scalar("SELECT count(*) FROM entries WHERE content LIKE 'parenttag row %'"), Is.EqualTo(4000));
            Assert.That(store.Search("childtag", new SearchOptions { Limit = 5000 }), Has.Count.EqualTo(4000));
            Assert.That(store.Sessions(), Has.Count.EqualTo(2));
        }
    }

    [Test]
    public async Task KilledProcess_LosesNothingFlushed_AndTheFileStaysIntact()
    {
        using var child = StartChild(DbPath, "3000", "killtag", "write");
        var line = await child.StandardOutput.ReadLineAsync().WaitAsync(Guard);
        Assert.That(line, Does.StartWith("flushed "), "the child did not flush");
        var childSession = line!["flushed ".Length..];

        // Killed mid-write: it keeps writing unflushed rows until now.
        child.Kill(entireProcessTree: true);
        await child.WaitForExitAsync().WaitAsync(Guard);

        var reopened = Open();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ScalarText("PRAGMA integrity_check"), Is.EqualTo("ok"));
            Assert.That(Scalar($"SELECT count(*) FROM entries WHERE session_id = '{childSession}' AND content LIKE 'killtag row %'"), Is.EqualTo(3000));
            Assert.That(reopened.Search("killtag row 2999", new SearchOptions { SessionId = childSession }), Has.Count.GreaterThanOrEqualTo(1));
            Assert.That(FtsIntegrity(), Is.True);
        }
    }

    private bool FtsIntegrity()
    {
        using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        connection.Open();
        connection.Execute("INSERT INTO entries_fts(entries_fts, rank) VALUES('integrity-check', 1)");
        return true;
    }
}

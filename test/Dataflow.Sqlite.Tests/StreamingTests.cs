using Dapper;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests;

/// <summary>Reads over 500,000 entries with a huge limit stream in constant memory, and stop on cancellation.</summary>
[NonParallelizable]
[FixtureLifeCycle(LifeCycle.SingleInstance)]
public sealed class StreamingTests
{
    private const int Rows = 500_000;
    private string _folder = string.Empty;
    private string _path = string.Empty;
    private SessionHistory _history = null!;

    [OneTimeSetUp]
    public async Task CreateLargeStore()
    {
        _folder = Path.Combine(Path.GetTempPath(), "dataflow-sqlite-tests", Guid.NewGuid().ToString("N"));
        _path = Path.Combine(_folder, "large.db");
        await using (var store = new SessionStore(_path, new SessionStoreOptions { DurableCommits = false }))
        {
            await store.FlushAsync();
        }

        // Rows are inserted by SQL (fast), each 200 characters of content, then indexed in one rebuild.
        using (var connection = new SqliteConnection($"Data Source={_path};Pooling=False"))
        {
            connection.Open();
            var session = connection.ExecuteScalar<string>("SELECT id FROM sessions");
            connection.Execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @Rows) " +
                "INSERT INTO entries (session_id, timestamp, mode, channel, direction, content, run_id, event) " +
                "SELECT @Session, '2026-01-01T00:00:00.000000Z', 'M', 'c', 'output', 'needle ' || i || ' ' || replace(hex(zeroblob(90)), '00', 'xy'), 'g' || (i % 10), 'transition' FROM n",
                new { Rows, Session = session });
            connection.Execute("INSERT INTO entries_fts (entries_fts) VALUES ('rebuild')");
        }

        _history = SessionHistory.Open(_path);
    }

    [OneTimeTearDown]
    public void DeleteLargeStore()
    {
        _history.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public Task RecentAsync_HugeLimit_StreamsInConstantMemory()
        => AssertStreamsAsync(_history.RecentAsync(int.MaxValue));

    [Test]
    public Task SearchAsync_HugeLimit_StreamsInConstantMemory()
        => AssertStreamsAsync(_history.SearchAsync("needle", new SearchOptions { Limit = int.MaxValue }));

    [Test]
    public Task SessionEntriesAsync_StreamsInConstantMemory()
        => AssertStreamsAsync(_history.SessionEntriesAsync(_history.Sessions().Single().Id));

    [Test]
    public void RecentAsync_Cancelled_StopsTheEnumeration()
    {
        using var cancellation = new CancellationTokenSource();
        var read = 0;
        Assert.That(
            async () =>
            {
                await foreach (var _ in _history.RecentAsync(int.MaxValue, cancellation.Token))
                {
                    if (++read == 1000)
                    {
                        await cancellation.CancelAsync();
                    }
                }
            },
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(read, Is.EqualTo(1000));
    }

    /// <summary>Half-way through, everything read so far must be garbage: a buffered list would hold 500,000 entries (over 250 MB).</summary>
    private static async Task AssertStreamsAsync(IAsyncEnumerable<StoreEntry> entries)
    {
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long midway = 0;
        var count = 0;
        await foreach (var entry in entries)
        {
            if (++count == Rows / 2)
            {
                midway = GC.GetTotalMemory(forceFullCollection: true);
            }
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(count, Is.EqualTo(Rows));
            Assert.That(midway - baseline, Is.LessThan(32L * 1024 * 1024), "memory grew with the rows read");
        }
    }
}

using System.Diagnostics;

namespace Dataflow.Sqlite.Tests;

/// <summary>Hand-run measurements (not part of the normal run): <c>dotnet test --filter TestCategory=Performance</c>.</summary>
[Explicit("Measurement, run by hand")]
[Category("Performance")]
[NonParallelizable]
public sealed class PerformanceTests : StoreTestBase
{
    [TestCase(false, 1000, 100_000)]
    [TestCase(true, 1000, 100_000)]
    [TestCase(false, 1, 3_000)]
    [TestCase(true, 1, 3_000)]
    public async Task WriteRate(bool trigger, int batchSize, int rows)
    {
        var options = new SessionStoreOptions { BatchSize = batchSize, FlushInterval = TimeSpan.Zero, QueueCapacity = 8192 };
        var store = trigger ? OpenIndexedByTrigger(options) : Open(options);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < rows; i++)
        {
            await store.RecordAsync("GRAPH", "graph", "output", $"g{i} StressStart -> Middle transition number {i % 977} ok");
        }

        await store.FlushAsync();
        clock.Stop();
        TestContext.Out.WriteLine($"index={(trigger ? "trigger/row" : "statement/batch")} batch={batchSize}: {rows / clock.Elapsed.TotalSeconds:N0} rows/s");
    }

    [Test]
    public async Task SearchP99_AtOneMillionEntries()
    {
        var store = Open(new SessionStoreOptions { BatchSize = 5000, FlushInterval = TimeSpan.Zero, DurableCommits = false });
        for (var i = 0; i < 1_000_000; i++)
        {
            var rare = i % 100_000 == 7 ? " zebracorn" : string.Empty;
            await store.RecordAsync("GRAPH", "graph", "output", $"g{i} started StressStart node{i % 50} complete{rare}");
        }

        await store.FlushAsync();
        foreach (var (name, query) in new[] { ("rare", "zebracorn"), ("common", "started"), ("prefix", "node1*"), ("prefix-fts", "compl*") })
        {
            var fts = name == "prefix-fts";
            var times = new List<double>();
            for (var i = 0; i < 200; i++)
            {
                var clock = Stopwatch.StartNew();
                var hits = store.Search(query, new SearchOptions { Fts = fts });
                times.Add(clock.Elapsed.TotalMilliseconds);
                Assert.That(hits, Is.Not.Empty);
            }

            times.Sort();
            TestContext.Out.WriteLine($"{name} '{query}': p50 {times[100]:F2} ms, p99 {times[197]:F2} ms");
        }

        var ranked = Stopwatch.StartNew();
        store.Search("zebracorn", new SearchOptions { Rank = true });
        TestContext.Out.WriteLine($"ranked rare: {ranked.Elapsed.TotalMilliseconds:F2} ms");
    }
}

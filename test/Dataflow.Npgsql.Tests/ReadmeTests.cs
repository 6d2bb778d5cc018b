using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Npgsql.Jobs;

namespace Dataflow.Npgsql.Tests;

/// <summary>The README's PostgreSQL and worker snippets, word for word where they can be, so that they stay true.</summary>
public sealed class ReadmeTests
{
    private static readonly string[] Snippet =
    [
        "await using var store = await PostgresSessionStore.OpenAsync(db);",
        "await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });",
        "engine.Events.AddSink(new StoreEventSink(store));",
        "await using var queue = await JobQueue.OpenAsync(db);",
        "var graph = Graph.Create<Fetch>(new GraphOptions { Durable = true, MaxRunsInFlight = 50 });",
        "await queue.SubmitAsync(\"nightly\", graph, urls.Select(u => (INode)new Fetch(u)));",
        "await using var worker = new Worker(queue, store, graph, new WorkerOptions { Job = \"nightly\" });",
        "WorkerSummary summary = await worker.RunAsync(stoppingToken);",
        "await foreach (var item in queue.ItemsAsync(\"nightly\")) { /* item.State, item.Result (JSON), item.Error */ }",
    ];

    [Test]
    public async Task ThePostgresAndWorkerSnippets_RunAsWritten()
    {
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stoppingToken = guard.Token;
        var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "README.md"), stoppingToken);
        Assert.That(Snippet.Where(line => !readme.Contains(line, StringComparison.Ordinal)), Is.Empty, "the README shows these lines");

        var db = await PostgresSetUp.Server.CreateDatabaseAsync("readme", stoppingToken);
        string[] urls = ["https://example.org/a", "https://example.org/b"];
        await using var store = await PostgresSessionStore.OpenAsync(db);
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        engine.Events.AddSink(new StoreEventSink(store));
        await using var queue = await JobQueue.OpenAsync(db);
        var graph = Graph.Create<Fetch>(new GraphOptions { Durable = true, MaxRunsInFlight = 50 });
        await queue.SubmitAsync("nightly", graph, urls.Select(u => (INode)new Fetch(u)));

        await using var worker = new Worker(queue, store, graph, new WorkerOptions { Job = "nightly" });
        WorkerSummary summary = await worker.RunAsync(stoppingToken);
        var results = new List<string?>();
        await foreach (var item in queue.ItemsAsync("nightly")) { results.Add(item.Result); }

        Assert.That(summary.Done, Is.EqualTo(2));
        Assert.That(results, Is.EqualTo(new[] { "{\"Url\":\"https://example.org/a\",\"Length\":21}", "{\"Url\":\"https://example.org/b\",\"Length\":21}" }));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Dataflow.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Dataflow.sln not found above the test directory.");
    }

    public sealed record Fetch(string Url) : INode<Fetched>
    {
        public ValueTask<Fetched> RunAsync(NodeContext context) => ValueTask.FromResult(new Fetched(Url, Url.Length));
    }

    public sealed record Fetched(string Url, int Length) : INode;
}

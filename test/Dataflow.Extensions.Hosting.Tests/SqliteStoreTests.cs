using System.Reflection;
using System.Text.Json;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Sqlite;
using Dataflow.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;

namespace Dataflow.Extensions.Hosting.Tests;

public sealed record Fetch(string Url) : INode<Fetched>
{
    public ValueTask<Fetched> RunAsync(NodeContext context) => ValueTask.FromResult(new Fetched(Url.Length));
}

public sealed record Fetched(int Length) : INode;

// AddDataflowSqliteStore in a real generic host: the history lands in the file, written before the stop returns.
[TestFixture]
public sealed class SqliteStoreTests
{
    private string _directory = string.Empty;

    private string DbPath => Path.Combine(_directory, "history.db");

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("dataflow-hosting-sqlite-").FullName;

    [TearDown]
    public void DeleteDirectory()
    {
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task HostedEngine_WritesEveryRunsHistoryToTheFile_AndTheStopClosesTheStoreAfterTheDrain()
    {
        var signal = new HoldSignal();

        // The runs finish only once the hosted engine has begun to stop, so their last events are published during the
        // drain; the store writes nothing until it is flushed (no batch fills, the interval is an hour), so whatever the
        // file holds after the stop was written when the hosted service closed the store, after the engine drained.
        var logs = new CapturingLoggerProvider
        {
            OnRecord = r =>
            {
                if (r.Category == "Dataflow.Hosting" && r.EventId.Id == 2)
                {
                    signal.Release();
                }
            },
        };
        using var host = TestHosts.Build(
            b =>
            {
                b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TestHosts.Guard);
                b.Services.AddSingleton(signal);
                b.Services.AddDataflow()
                    .AddGraph<Hold>()
                    .AddDataflowSqliteStore(DbPath, o => (o.FlushInterval, o.BatchSize) = (TimeSpan.FromHours(1), 10_000));
            },
            logs);
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<GraphEngine>();
        var store = host.Services.GetRequiredService<SessionStore>();
        var graph = host.Services.GetRequiredService<GraphCatalog>().Get<Hold>();
        var runs = new List<GraphRun>();
        for (var i = 0; i < 3; i++)
        {
            runs.Add(await engine.SubmitAsync(graph, new Hold(i), new RunOptions { Policy = OutputPolicy.Verbose }));
        }

        Assert.That(store.Written, Is.Zero, "nothing is written before the flush");
        await host.StopAsync().WaitAsync(TestHosts.Guard);

        // Read back before the host (and so the container) is disposed: the hosted service closed the store.
        using var history = SessionHistory.Open(DbPath);
        var session = history.Sessions().Single();
        var events = history.SessionEntries(session.Id).Select(e => (e.RunId, e.Event)).ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Path.GetFullPath(store.Path), Is.EqualTo(Path.GetFullPath(DbPath)));
            Assert.That(session.Id, Is.EqualTo(store.SessionId));
            Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
            foreach (var run in runs)
            {
                Assert.That(events.Where(e => e.RunId == run.Id).Select(e => e.Event), Is.EqualTo(new[] { "start", "transition", "complete" }), run.Id);
            }

            Assert.That(store.Written, Is.EqualTo(9));
            Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.RecordAsync("M", "c", "output", "too late"));
            Assert.That(logs.Records.Select(r => r.Message), Has.Some.Contains("store 'sqlite' closed: 9 entries written, 0 unwritten"));
        }
    }

    [Test]
    public async Task Readme_SqliteSetup_RunsAsWritten()
    {
        const string Setup = """builder.Services.AddDataflow().AddGraph<Fetch>().AddDataflowSqliteStore("dataflow.db");""";
        var readme = await File.ReadAllTextAsync(typeof(SqliteStoreTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ReadmePath").Value!);
        Assert.That(readme, Does.Contain(Setup));

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = _directory });

        // As in the README:
        builder.Services.AddDataflow().AddGraph<Fetch>().AddDataflowSqliteStore("dataflow.db");

        using var host = builder.Build();
        await host.StartAsync();
        var run = await host.Services.GetRequiredService<GraphEngine>().SubmitAsync(host.Services.GetRequiredService<GraphCatalog>().Get<Fetch>(), new Fetch("https://example.org"));
        await run.Completion.WaitAsync(TestHosts.Guard);
        await host.StopAsync().WaitAsync(TestHosts.Guard);

        using var history = SessionHistory.Open(Path.Combine(_directory, "dataflow.db"));
        Assert.That(history.Recent(10).Select(e => (e.RunId, e.Event)), Is.EqualTo(new[] { (run.Id, "complete"), (run.Id, "start") }), "newest first");
    }

    [Test]
    public async Task RelativePath_IsUnderTheContentRoot_AndTheSinkTakesItsOptions()
    {
        using var host = TestHosts.Build(b =>
        {
            b.Environment.ContentRootPath = _directory;
            b.Services.AddDataflow().AddGraph<Step>().AddDataflowSqliteStore("relative.db", null, new SinkOptions { Name = "history", Policy = OutputPolicy.Quiet });
        });
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<GraphEngine>();
        var graph = host.Services.GetRequiredService<GraphCatalog>().Get<Step>();
        var ok = await engine.SubmitAsync(graph, new Step(false));
        var failed = await engine.SubmitAsync(graph, new Step(true));
        await Task.WhenAll(ok.Completion, failed.Completion).WaitAsync(TestHosts.Guard);
        await host.StopAsync().WaitAsync(TestHosts.Guard);

        using var history = SessionHistory.Open(Path.Combine(_directory, "relative.db"));
        var entries = history.Recent(10);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(engine.Events.Sinks.Select(s => s.Name), Is.EqualTo(new[] { "history" }));
            Assert.That(entries.Select(e => (e.RunId, e.Event)), Is.EqualTo(new[] { (failed.Id, "fail") }), "Quiet keeps failures only");
            Assert.That(File.Exists(Path.Combine(Environment.CurrentDirectory, "relative.db")), Is.False);
        }
    }

    [Test]
    public async Task HealthCheck_ReportsAStalledStore_AsDegraded_UntilItsWritesGoThrough()
    {
        var writeFailed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var host = TestHosts.Build(b =>
        {
            b.Services.AddDataflow().AddGraph<Step>().AddDataflowSqliteStore(DbPath, o =>
            {
                o.BusyTimeout = TimeSpan.FromMilliseconds(20);
                o.FlushInterval = TimeSpan.Zero;
                o.OnWriteError = _ => writeFailed.TrySetResult();
            });
            b.Services.AddHealthChecks().AddDataflow();
        });
        await host.StartAsync();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        var engine = host.Services.GetRequiredService<GraphEngine>();
        var store = host.Services.GetRequiredService<SessionStore>();
        var graph = host.Services.GetRequiredService<GraphCatalog>().Get<Step>();

        var healthy = (await health.CheckHealthAsync()).Entries["dataflow"];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(healthy.Status, Is.EqualTo(HealthStatus.Healthy), healthy.Description);
            Assert.That(healthy.Data["failing_stores"], Is.Empty);
        }

        // Another process's write lock: the store's batches fail past the busy timeout and are retried.
        using (var holder = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            holder.Open();
            using var transaction = holder.BeginTransaction(deferred: false);
            var run = await engine.SubmitAsync(graph, new Step(false));
            await run.Completion.WaitAsync(TestHosts.Guard);
            await writeFailed.Task.WaitAsync(TestHosts.Guard);

            var stalled = (await health.CheckHealthAsync()).Entries["dataflow"];
            using (Assert.EnterMultipleScope())
            {
                Assert.That(stalled.Status, Is.EqualTo(HealthStatus.Degraded), stalled.Description);
                Assert.That(stalled.Description, Does.Contain("Store writes are stalled and retried: 'sqlite' since"));
                Assert.That(stalled.Exception, Is.TypeOf<StoreLockedException>());
                Assert.That(stalled.Data["failing_stores"], Is.EqualTo(new[] { "sqlite" }));
                Assert.That((long)stalled.Data["store_queued"], Is.GreaterThan(0));
            }

            transaction.Rollback();
        }

        await store.FlushAsync().WaitAsync(TestHosts.Guard);
        var recovered = (await health.CheckHealthAsync()).Entries["dataflow"];
        Assert.That(recovered.Status, Is.EqualTo(HealthStatus.Healthy), recovered.Description);
        await host.StopAsync().WaitAsync(TestHosts.Guard);
    }

    [Test]
    public async Task HealthCheck_ReportsAStoreThatStoppedWriting_AsUnhealthy()
    {
        var broken = new StoppedStore();
        using var host = TestHosts.Build(b =>
        {
            b.Services.AddDataflow().AddGraph<Step>().AddStore(_ => broken, s => s.Health, new SinkOptions { Name = "ledger" });
            b.Services.AddHealthChecks().AddDataflow();
        });
        await host.StartAsync();
        var report = (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync()).Entries["dataflow"];
        await host.StopAsync().WaitAsync(TestHosts.Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(report.Status, Is.EqualTo(HealthStatus.Unhealthy));
            Assert.That(report.Description, Is.EqualTo("Stores stopped writing after an error: 'ledger' (7 entries unwritten: disk full)."));
            Assert.That(report.Data["store_unwritten"], Is.EqualTo(7));
            Assert.That(broken.Disposed, Is.True, "the hosted service disposed the store when it stopped");
        }
    }

    [Test]
    public void Registration_OfASecondSqliteStore_IsRefused()
    {
        var services = new ServiceCollection();
        var builder = services.AddDataflow().AddDataflowSqliteStore(DbPath);
        var error = Assert.Throws<InvalidOperationException>(() => builder.AddDataflowSqliteStore(DbPath + "2"));
        Assert.That(error!.Message, Does.Contain("A SessionStore is already registered"));
    }

    [Test]
    public async Task AFileThatIsNotAStore_StopsTheHostFromStarting()
    {
        await File.WriteAllTextAsync(DbPath, "not a database");
        using var host = TestHosts.Build(b => b.Services.AddDataflow().AddGraph<Step>().AddDataflowSqliteStore(DbPath));

        var error = Assert.CatchAsync(() => host.StartAsync());
        Assert.That(error, Is.InstanceOf<NotAStoreException>().Or.InstanceOf<StoreException>());
        Assert.That(await File.ReadAllTextAsync(DbPath), Is.EqualTo("not a database"), "left unchanged");
    }

    private sealed class StoppedStore : IEntryStore, IAsyncDisposable
    {
        public bool Disposed { get; private set; }

        public BatchWriterHealth Health => new(0, 3, 5, 7, null, new IOException("disk full"), Stopped: true);

        public ValueTask RecordAsync(StoreRecord entry, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}

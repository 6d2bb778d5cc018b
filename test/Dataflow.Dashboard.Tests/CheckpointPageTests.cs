using System.Net;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Sqlite;

namespace Dataflow.Dashboard.Tests;

/// <summary>A run's page shows its checkpoints when it is durable, and says so when it is not: over HTTP, on a real store.</summary>
[TestFixture]
public sealed class CheckpointPageTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private string _folder = string.Empty;
    private string _session = string.Empty;
    private string _done = string.Empty;
    private string _failed = string.Empty;
    private string _plain = string.Empty;
    private DashboardServer _server = null!;
    private HttpClient _http = null!;

    private FailureLog DashboardLog { get; } = new();

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _folder = Directory.CreateTempSubdirectory("dataflow-dashboard-checkpoints-").FullName;
        var db = Path.Combine(_folder, "store.db");
        var store = new SessionStore(db);
        var verbose = new RunOptions { Policy = OutputPolicy.Verbose };
        await using (var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints }))
        {
            engine.Events.AddSink(new StoreEventSink(store));
            var durable = Graph.Create<Echo>(new GraphOptions { Durable = true });
            var done = engine.Submit(durable, new Echo("kept"), verbose);
            var failed = engine.Submit(durable, new Echo("boom"), verbose);
            var plain = engine.Submit(Graph.Create<Echo>(), new Echo("not kept"), verbose);
            await Task.WhenAll(done.Completion, failed.Completion, plain.Completion).WaitAsync(Guard);
            (_done, _failed, _plain) = (done.Id, failed.Id, plain.Id);
        }

        await store.Checkpoints.FlushAsync();
        await store.FlushAsync();
        _session = store.SessionId;
        await store.DisposeAsync();

        _server = await DashboardServer.StartAsync(new DashboardOptions { StorePath = db, Logger = DashboardLog }, new IPEndPoint(IPAddress.Loopback, 0));
        _http = new HttpClient { BaseAddress = _server.Address, Timeout = TimeSpan.FromSeconds(30) };
    }

    [TearDown]
    public void NoDashboardFailures()
    {
        var failures = DashboardLog.Drain();
        Assert.That(failures, Is.Empty, "the dashboard logged failures:" + Environment.NewLine + string.Join(Environment.NewLine, failures));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Test]
    public async Task ADurableRunsPage_ListsItsCheckpoints_FromItsStartToItsFinalState()
    {
        var page = await _http.GetStringAsync($"sessions/{_session}/runs/{_done}");
        Assert.That(page, Does.Contain("id=\"checkpoint-table\""));
        var rows = page[page.IndexOf("id=\"checkpoint-table\"", StringComparison.Ordinal)..];
        rows = rows[..rows.IndexOf("</table>", StringComparison.Ordinal)];
        Assert.That(rows, Does.Contain("<td>Running</td>").And.Contain("<td>Done</td>"), "the start and the final state");
        Assert.That(rows, Does.Contain("Echoed"), "the node the run ended at");
        Assert.That(page, Does.Not.Contain("dataflow rerun --failed"), "a run that ended Done is not offered a rerun");
    }

    [Test]
    public async Task AFailedDurableRunsPage_ShowsItsError_AndHowToRerunIt()
    {
        var page = await _http.GetStringAsync($"sessions/{_session}/runs/{_failed}");
        Assert.That(page, Does.Contain("<td>Failed</td>"));
        Assert.That(page, Does.Contain("asked to fail: boom"));
        Assert.That(page, Does.Contain("dataflow rerun --failed --session " + _session));
    }

    [Test]
    public async Task ARunThatIsNotDurable_SaysItHasNoCheckpoints()
    {
        var page = await _http.GetStringAsync($"sessions/{_session}/runs/{_plain}");
        Assert.That(page, Does.Contain("Not a durable run").And.Not.Contain("id=\"checkpoint-table\""));
    }
}

using System.Net;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Sqlite;

namespace Dataflow.Dashboard.Tests;

/// <summary>The runs of a fan-out's children (ids such as <c>g1/2</c>) have pages of their own: over HTTP, on a real store.</summary>
[TestFixture]
public sealed class ChildRunPageTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private string _folder = string.Empty;
    private string _session = string.Empty;
    private string _parent = string.Empty;
    private DashboardServer _server = null!;
    private HttpClient _http = null!;

    private FailureLog DashboardLog { get; } = new();

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _folder = Directory.CreateTempSubdirectory("dataflow-dashboard-children-").FullName;
        var db = Path.Combine(_folder, "store.db");
        var store = new SessionStore(db);
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(new StoreEventSink(store));
            var run = engine.Submit(Graph.Create<Basket>(), new Basket(["apple", "pear", "fig"]), new RunOptions { Policy = OutputPolicy.Verbose });
            await run.Completion.WaitAsync(Guard);
            Assert.That(run.State, Is.EqualTo(RunState.Done), run.Error?.ToString());
            _parent = run.Id;
        }

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
    public async Task TheRunsList_LinksEachChild_AndAChildsPageShowsItsOwnEvents()
    {
        var list = await _http.GetStringAsync($"sessions/{_session}");
        var child = $"{_parent}/2";
        var link = $"sessions/{_session}/runs/{Uri.EscapeDataString(child)}";
        Assert.That(list, Does.Contain(Uri.EscapeDataString(child)), "the runs list links the child with its '/' escaped");

        using var response = await _http.GetAsync(link);
        var page = await response.Content.ReadAsStringAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), page);
            Assert.That(page, Does.Contain(WebUtility.HtmlEncode(child)));
            Assert.That(page, Does.Contain("Weigh").And.Contain("pear"), "the child's own node and item");
        }
    }

    [Test]
    public async Task ARunIdWithCharactersOutsideTheAlphabet_IsStillRefused_Naming_It()
    {
        using var response = await _http.GetAsync($"sessions/{_session}/runs/{Uri.EscapeDataString("g1/<x>")}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body, Does.Contain("is not a run id"));
    }

    public sealed record Basket(string[] Items) : INode<FanOut<Weigh, Weighed, Total>>
    {
        public ValueTask<FanOut<Weigh, Weighed, Total>> RunAsync(NodeContext context) =>
            ValueTask.FromResult(new FanOut<Weigh, Weighed, Total>(Items.Select(i => new Weigh(i)), results => new Total(results.Values.Sum(w => w.Grams))));
    }

    public sealed record Weigh(string Item) : INode<Weighed>
    {
        public ValueTask<Weighed> RunAsync(NodeContext context) => ValueTask.FromResult(new Weighed(Item, Item.Length * 100));
    }

    public sealed record Weighed(string Item, int Grams) : INode;

    public sealed record Total(int Grams) : INode<Paid>
    {
        public ValueTask<Paid> RunAsync(NodeContext context) => ValueTask.FromResult(new Paid(Grams));
    }

    public sealed record Paid(int Grams) : INode;
}

using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Dataflow.Dashboard.Tests;

/// <summary>The pages over a store made by the real <c>dataflow run</c>: the sample batch, and a batch whose input holds an XSS payload.</summary>
[TestFixture]
public sealed class StoreBrowserTests : BrowserFixture
{
    private const string Payload = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">";

    private DashboardServer _server = null!;

    private string Url => _server.Address.ToString();

    [OneTimeSetUp]
    public async Task MakeStoreAndServeAsync()
    {
        var db = Path.Combine(Folder, "store.db");
        var sample = await DataflowProcess.RunAsync(Folder, "run", "--count", "60", "--db", db);
        Assert.That(sample.ExitCode, Is.EqualTo(1), sample.Output); // the sample fails some orders on purpose

        var input = Path.Combine(Folder, "xss.jsonl");
        await File.WriteAllLinesAsync(input, [JsonSerializer.Serialize(new { text = Payload })]);
        var xss = await DataflowProcess.RunAsync(Folder, "run", "--assembly", typeof(Echo).Assembly.Location, "--start", nameof(Echo), "--input", input, "--db", db);
        Assert.That(xss.ExitCode, Is.EqualTo(0), xss.Output);

        var options = new DashboardOptions { StorePath = db, PageSize = 20, Logger = DashboardLog };
        options.Graphs.Add(Graphs.Graph.Create<Cli.Sample.Order>());
        _server = await DashboardServer.StartAsync(options, new IPEndPoint(IPAddress.Loopback, 0));
    }

    [OneTimeTearDown]
    public async Task StopServerAsync() => await _server.DisposeAsync();

    [Test]
    public async Task SessionsPage_LeadsToTheRunsOfARealBatch_AndAFailedRunsTimeline()
    {
        var page = await NewPageAsync();
        await page.GotoAsync(Url);
        await Expect(page.Locator("#sessions tbody tr")).ToHaveCountAsync(2);
        await ScreenshotAsync(page, "sessions");

        await page.Locator("#sessions tr", new() { HasText = "sample (Order)" }).Locator("a.session").ClickAsync();
        await Expect(page.Locator("h1")).ToContainTextAsync("Runs of session");
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(20);
        await page.Locator("a.older").ClickAsync();
        await Expect(page.Locator("#runs tbody tr")).ToHaveCountAsync(20);
        await page.Locator("select[name=state]").SelectOptionAsync("failed");
        await page.Locator("form.filters button").ClickAsync();
        await Expect(page.Locator("#runs tbody tr").First.Locator("td.state")).ToHaveTextAsync("Failed");
        await ScreenshotAsync(page, "runs");

        var run = await page.Locator("#runs a.run").First.TextContentAsync();
        await page.Locator("#runs a.run").First.ClickAsync();
        await Expect(page.Locator("#run-id")).ToHaveTextAsync(run!);
        await Expect(page.Locator("#run-state")).ToHaveTextAsync("Failed");
        await Expect(page.Locator("#run-error")).ToContainTextAsync("InvalidOperationException");
        Assert.That(await page.Locator("#run-timeline g.row").CountAsync(), Is.GreaterThanOrEqualTo(1), "the timeline has a bar per node the run was at");
        Assert.That(await page.Locator("#events tbody tr").CountAsync(), Is.GreaterThanOrEqualTo(2));
        await Expect(page.Locator("#checkpoints")).ToContainTextAsync("Not a durable run");
        await ScreenshotAsync(page, "run");
    }

    [Test]
    public async Task Search_FindsAnOrder_AndLandsOnItsRun()
    {
        var page = await NewPageAsync();
        await page.GotoAsync(Url);
        await page.Locator("header input[name=q]").FillAsync("fraud");
        await page.Locator("header input[name=q]").PressAsync("Enter");
        await Expect(page.Locator("#results tbody tr").First).ToContainTextAsync("fraud");
        await Expect(page.Locator("#results mark").First).ToHaveTextAsync("fraud");
        await ScreenshotAsync(page, "search");

        var run = await page.Locator("#results a.run").First.TextContentAsync();
        await page.Locator("#results a.run").First.ClickAsync();
        await Expect(page.Locator("#run-id")).ToHaveTextAsync(run!);
        await Expect(page.Locator("#run-error")).ToContainTextAsync("fraud");
    }

    [Test]
    public async Task XssPayloadInAnInput_ShowsAsText_AndNeverRuns()
    {
        var page = await NewPageAsync();
        await page.GotoAsync(Url);
        await page.Locator("#sessions tr", new() { HasText = "Echo" }).Locator("a.session").ClickAsync();
        await Expect(page.Locator("#runs td.input")).ToHaveTextAsync($"Echo {{ Text = {Payload} }}");
        await page.Locator("#runs a.run").First.ClickAsync();
        await Expect(page.Locator("#run-input")).ToHaveTextAsync($"Echo {{ Text = {Payload} }}");
        await Expect(page.Locator("#events")).ToContainTextAsync("<script>window.__xss=1</script>");

        await page.Locator("header input[name=q]").FillAsync("xss");
        await page.Locator("header input[name=q]").PressAsync("Enter");
        await Expect(page.Locator("#results")).ToContainTextAsync("<script>window.");
        await ScreenshotAsync(page, "xss");

        Assert.That(await page.EvaluateAsync<bool>("() => window.__xss === undefined"), Is.True, "the payload ran");
        Assert.That(await page.Locator("main script, main img").CountAsync(), Is.Zero, "the payload became markup");
    }

    [Test]
    public async Task GraphPage_DrawsEveryNode()
    {
        var page = await NewPageAsync();
        await page.GotoAsync(Url + "graph");
        var graph = Graphs.Graph.Create<Cli.Sample.Order>();
        await Expect(page.Locator("svg.graph g.node")).ToHaveCountAsync(graph.Nodes.Count);
        await Expect(page.Locator("svg.graph g.node.start text")).ToHaveTextAsync("Order");
        Assert.That(await page.Locator("svg.graph path.edge").CountAsync(), Is.EqualTo(graph.Edges.Count + graph.RecoveryEdges.Count));
        await ScreenshotAsync(page, "graph");
    }
}

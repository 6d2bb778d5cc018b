using System.Net;
using System.Text;
using System.Text.Json;
using CsCheck;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Sqlite;

namespace Dataflow.Dashboard.Tests;

/// <summary>Every endpoint over HTTP, against a real Kestrel on 127.0.0.1 with a port of its own, and a real store.</summary>
[TestFixture]
public sealed class HttpEndpointTests
{
    private const string Csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private string _folder = string.Empty;
    private string _session = string.Empty;
    private SessionStore _liveStore = null!;
    private GraphEngine _engine = null!;
    private LiveBatch _live = null!;
    private GraphRun _gated = null!;
    private DashboardServer _server = null!;
    private DashboardServer _readOnly = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _folder = Directory.CreateTempSubdirectory("dataflow-dashboard-http-").FullName;
        var db = Path.Combine(_folder, "store.db");
        var store = new SessionStore(db);
        await using (var engine = new GraphEngine())
        {
            engine.Events.AddSink(new StoreEventSink(store));
            var graph = Graph.Create<Echo>();
            for (var i = 0; i < 10; i++)
            {
                await engine.Submit(graph, new Echo(i == 3 ? "boom" : $"text {i} <b>bold</b>"), new RunOptions { Policy = OutputPolicy.Verbose }).Completion.ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }

        await store.FlushAsync();
        _session = store.SessionId;
        await store.DisposeAsync();

        // A live batch whose one run waits at a gate; its events go to a second session of the same file.
        _liveStore = new SessionStore(db);
        _engine = new GraphEngine();
        _engine.Events.AddSink(new StoreEventSink(_liveStore));
        _live = new LiveBatch(_engine, _liveStore.SessionId);
        _gated = _engine.Submit(Graph.Create<Approval>(), new Approval("chair"), new RunOptions { Policy = OutputPolicy.Verbose });
        _live.Track(_gated);
        await _gated.WaitForGatesAsync().WaitAsync(TimeSpan.FromSeconds(30));

        var options = new DashboardOptions { StorePath = db, Live = _live, PageSize = 4 };
        options.Graphs.Add(Graph.Create<Echo>());
        _server = await DashboardServer.StartAsync(options, new IPEndPoint(IPAddress.Loopback, 0));
        _readOnly = await DashboardServer.StartAsync(new DashboardOptions { StorePath = db }, new IPEndPoint(IPAddress.Loopback, 0));
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _server.Address, Timeout = TimeSpan.FromSeconds(30) };
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        await _readOnly.DisposeAsync();
        _gated.Cancel();
        await _engine.DisposeAsync();
        await _liveStore.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [TestCase("")]
    [TestCase("graph")]
    [TestCase("search")]
    [TestCase("search?q=text")]
    [TestCase("live")]
    public async Task Pages_AnswerHtml_WithTheSecurityHeaders(string path)
    {
        using var response = await _http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Is.EqualTo(Csp));
            Assert.That(response.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"));
            Assert.That(body, Does.Not.Contain("<script>").And.Not.Contain(" style=\""), "no inline script or style");
        }
    }

    [Test]
    public async Task RunList_PagesByKeyset_WithoutRepeatsOrGaps()
    {
        var seen = new List<string>();
        string? next = $"sessions/{_session}";
        while (next is not null)
        {
            var body = await GetOkAsync(next);
            var runs = Between(body, "class=\"run\">", "</a>").ToList();
            Assert.That(runs, Has.Count.LessThanOrEqualTo(4));
            seen.AddRange(runs);
            var older = System.Text.RegularExpressions.Regex.Match(body, "<a href=\"([^\"]*)\" class=\"older\">");
            next = older.Success ? WebUtility.HtmlDecode(older.Groups[1].Value).TrimStart('/') : null;
        }

        Assert.That(seen, Is.EquivalentTo(Enumerable.Range(1, 10).Select(i => "g" + i)));
        var failed = await GetOkAsync($"sessions/{_session}?state=failed");
        Assert.That(Between(failed, "class=\"run\">", "</a>"), Is.EqualTo(new[] { "g4" }));
        var atNode = await GetOkAsync($"sessions/{_session}?node=Echoed&limit=100");
        Assert.That(Between(atNode, "class=\"run\">", "</a>").Count(), Is.EqualTo(9));
    }

    [Test]
    public async Task RunPage_ShowsStoredTextEncoded()
    {
        var body = await GetOkAsync($"sessions/{_session}/runs/g1");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(body, Does.Contain("text 0 &lt;b&gt;bold&lt;/b&gt;"));
            Assert.That(body, Does.Not.Contain("<b>bold</b>"));
            Assert.That(body, Does.Contain("id=\"run-timeline\""));
        }
    }

    [TestCase("sessions/not_a_session", HttpStatusCode.BadRequest, "is not a session id")]
    [TestCase("sessions/0000-missing", HttpStatusCode.NotFound, "no session")]
    [TestCase("sessions/{session}/runs/g%3Cscript%3E", HttpStatusCode.BadRequest, "is not a run id")]
    [TestCase("sessions/{session}/runs/g999", HttpStatusCode.NotFound, "has no run 'g999'")]
    [TestCase("sessions/{session}?before=-1", HttpStatusCode.BadRequest, "'before' must be a positive whole number")]
    [TestCase("sessions/{session}?before=abc", HttpStatusCode.BadRequest, "'before' must be a positive whole number")]
    [TestCase("sessions/{session}?before=99999999999999999999", HttpStatusCode.BadRequest, "'before'")]
    [TestCase("sessions/{session}?limit=0", HttpStatusCode.BadRequest, "'limit' must be a whole number from 1 to 1000")]
    [TestCase("sessions/{session}?limit=1001", HttpStatusCode.BadRequest, "'limit'")]
    [TestCase("sessions/{session}?state=lost", HttpStatusCode.BadRequest, "'state' must be any, done, failed")]
    [TestCase("sessions/{session}?since=yesterday", HttpStatusCode.BadRequest, "'since' must be an ISO 8601 time")]
    [TestCase("sessions/{session}?since=1h&until=2h", HttpStatusCode.BadRequest, "'since' is after 'until'")]
    [TestCase("sessions/{session}?state=unfinished&node=Echo", HttpStatusCode.BadRequest, "unfinished runs have not ended")]
    [TestCase("sessions/{session}?state=done&state=failed", HttpStatusCode.BadRequest, "given 2 times")]
    [TestCase("search?q=a&limit=501", HttpStatusCode.BadRequest, "'limit'")]
    [TestCase("search?q=a&session=%3Cx%3E", HttpStatusCode.BadRequest, "is not a session id")]
    public async Task BadValues_Get4xx_WithAPlainMessage(string path, HttpStatusCode status, string message)
    {
        using var response = await _http.GetAsync(path.Replace("{session}", _session, StringComparison.Ordinal));
        await AssertProblemAsync(response, status, message);
    }

    [Test]
    public async Task HugeQueryStrings_AndValues_AreRefused()
    {
        using var huge = await _http.GetAsync($"sessions/{_session}?node=" + new string('x', 3000));
        await AssertProblemAsync(huge, HttpStatusCode.RequestUriTooLong, "at most 2048 are accepted");
        using var long1 = await _http.GetAsync("search?q=" + new string('y', 600));
        await AssertProblemAsync(long1, HttpStatusCode.BadRequest, "'q' is 600 characters long; at most 500");
        using var tooLongForKestrel = await _http.GetAsync("search?q=" + new string('z', 20_000));
        Assert.That((int)tooLongForKestrel.StatusCode, Is.InRange(400, 499));
    }

    [Test]
    public async Task AForeignHostHeader_IsRefused()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "");
        request.Headers.Host = "attacker.example";
        using var response = await _http.SendAsync(request);
        await AssertProblemAsync(response, HttpStatusCode.MisdirectedRequest, "not a loopback address");
    }

    [Test]
    public async Task MissingStore_Is503_WithAMessage()
    {
        await using var server = await DashboardServer.StartAsync(new DashboardOptions { StorePath = Path.Combine(_folder, "none.db") }, new IPEndPoint(IPAddress.Loopback, 0));
        using var http = new HttpClient { BaseAddress = server.Address };
        using var response = await http.GetAsync("");
        await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "There is no store at");
        Assert.That(File.Exists(Path.Combine(_folder, "none.db")), Is.False);
    }

    [Test]
    public async Task AFileThatIsNotAStore_Is503_AndTheFailureGoesToTheOptionsLogger()
    {
        var path = Path.Combine(_folder, "not-a-store.db");
        await File.WriteAllTextAsync(path, "this is a text file, not an SQLite database\n");
        var log = new FailureLog();
        await using var server = await DashboardServer.StartAsync(new DashboardOptions { StorePath = path, Logger = log }, new IPEndPoint(IPAddress.Loopback, 0));
        using var http = new HttpClient { BaseAddress = server.Address };
        await AssertProblemAsync(await http.GetAsync("sessions/s1"), HttpStatusCode.ServiceUnavailable, "The store cannot be read");

        var logged = log.Drain();
        Assert.That(logged, Has.Count.EqualTo(1), string.Join(Environment.NewLine, logged));
        Assert.That(logged[0], Does.StartWith("Error: The dashboard failed on GET /sessions/s1").And.Contain(nameof(NotAStoreException)));
    }

    [Test]
    public async Task Stream_SendsSnapshots_WithTheWaitingGate()
    {
        var run = _engine.Submit(Graph.Create<Approval>(), new Approval("stool"));
        _live.Track(run);
        var gates = await run.WaitForGatesAsync().WaitAsync(TimeSpan.FromSeconds(30));
        using var response = await _http.GetAsync("live/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? line;
        do
        {
            line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        while (line is not null && !line.StartsWith("data: ", StringComparison.Ordinal));

        using var snapshot = JsonDocument.Parse(line!["data: ".Length..]);
        Assert.That(snapshot.RootElement.GetProperty("submitted").GetInt64(), Is.GreaterThanOrEqualTo(2));
        Assert.That(snapshot.RootElement.GetProperty("gates").EnumerateArray().Select(g => g.GetProperty("id").GetString()), Does.Contain(gates[0].Id));
        run.Cancel();
        await run.Completion.ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Test]
    public async Task GateAnswers_AreCheckedLikeResolveGate_AndOnlyFromThisSite()
    {
        var gate = _gated.PendingGates[0].Id;
        await AssertProblemAsync(await PostAsync("live/gates/g77.0", "value=true"), HttpStatusCode.NotFound, "No gate 'g77.0' is waiting");
        await AssertProblemAsync(await PostAsync("live/gates/%3Cx%3E", "value=true"), HttpStatusCode.BadRequest, "is not a gate id");
        await AssertProblemAsync(await PostAsync($"live/gates/{gate}", "value=perhaps"), HttpStatusCode.BadRequest, "'perhaps' is not a valid bool");
        await AssertProblemAsync(await PostAsync($"live/gates/{gate}", "value=true", origin: "http://attacker.example"), HttpStatusCode.Forbidden, "from another site");
        await AssertProblemAsync(await PostAsync($"live/gates/{gate}", "value=true", site: "cross-site"), HttpStatusCode.Forbidden, "from another site");
        using var readOnly = new HttpClient { BaseAddress = _readOnly.Address };
        await AssertProblemAsync(await readOnly.PostAsync($"live/gates/{gate}", Form("value=true")), HttpStatusCode.NotFound, "no live batch");
        Assert.That(_gated.State, Is.EqualTo(RunState.Waiting), "no refused answer resolved the gate");

        using var answered = await PostAsync($"live/gates/{gate}", "value=yes&back=run", site: "same-origin");
        Assert.That(answered.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
        Assert.That(answered.Headers.Location?.ToString(), Is.EqualTo($"/sessions/{_liveStore.SessionId}/runs/{_gated.Id}"));
        await _gated.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(_gated.GetResult<Shipped>().Item, Is.EqualTo("chair"));
        await AssertProblemAsync(await PostAsync($"live/gates/{gate}", "value=true"), HttpStatusCode.NotFound, "answered already");
    }

    [Test]
    public async Task ReadOnlyDashboard_HasNoLivePage()
    {
        using var readOnly = new HttpClient { BaseAddress = _readOnly.Address };
        await AssertProblemAsync(await readOnly.GetAsync("live"), HttpStatusCode.NotFound, "no live batch");
        await AssertProblemAsync(await readOnly.GetAsync("live/stream"), HttpStatusCode.NotFound, "no live batch");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task HostileValues_NeverGive5xx_NorComeBackAsMarkup(CancellationToken cancellationToken)
    {
        string[] hostile = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'", "%00", "\u0000", "../../etc/passwd", "g1\n", "-1", "9223372036854775808", "*", "\"", "a b c", "OR 1=1 --", "NEAR(", "\u202e"];
        var value = Gen.Frequency((3, Gen.OneOf(hostile)), (2, Gen.Char.Array[0, 20].Select(c => new string(c))));
        var parameter = Gen.OneOf("q", "state", "node", "since", "until", "before", "limit", "session");
        var path = Gen.OneOf("search", $"sessions/{_session}", $"sessions/{_session}/runs/g1", "graph", "");
        var request = Gen.Select(path, parameter, value, value, (p, name, v, id) => (Path: p, Name: name, Value: v, Id: id));
        await request.SampleAsync(
            async r =>
            {
                var url = $"{r.Path}?{r.Name}={Uri.EscapeDataString(r.Value)}";
                var asId = $"sessions/{Uri.EscapeDataString(r.Id)}/runs/{Uri.EscapeDataString(r.Value)}";
                foreach (var target in new[] { url, asId })
                {
                    using var response = await _http.GetAsync(target, cancellationToken);
                    var body = await response.Content.ReadAsStringAsync(cancellationToken);
                    Assert.That((int)response.StatusCode, Is.LessThan(500), $"{target}: {body}");
                    Assert.That(body, Does.Not.Contain("   at "), "no stack trace");
                    if (r.Value.Contains('<', StringComparison.Ordinal) && response.Content.Headers.ContentType?.MediaType == "text/html")
                    {
                        Assert.That(body, Does.Not.Contain(r.Value), $"{target} echoed markup");
                    }
                }
            },
            iter: 60,
            threads: 1);
    }

    private static FormUrlEncodedContent Form(string fields)
        => new(fields.Split('&').Select(f => f.Split('=')).Select(p => new KeyValuePair<string, string>(p[0], p[1])));

    private async Task<HttpResponseMessage> PostAsync(string path, string fields, string? origin = null, string? site = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Form(fields) };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (site is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", site);
        }

        return await _http.SendAsync(request);
    }

    private async Task<string> GetOkAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{path}: {body}");
        return body;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string message)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            using (Assert.EnterMultipleScope())
            {
                Assert.That(response.StatusCode, Is.EqualTo(status), body);
                Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
                Assert.That(body, Does.Contain(message));
                Assert.That(body, Does.Not.Contain("   at ").And.Not.Contain("Exception:"), "no stack trace");
            }
        }
    }

    private static IEnumerable<string> Between(string text, string start, string end)
    {
        for (var i = text.IndexOf(start, StringComparison.Ordinal); i >= 0; i = text.IndexOf(start, i + 1, StringComparison.Ordinal))
        {
            var from = i + start.Length;
            var to = text.IndexOf(end, from, StringComparison.Ordinal);
            yield return text[from..to];
        }
    }
}

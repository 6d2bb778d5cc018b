using System.Globalization;
using System.Text.Json;
using Dataflow.Dashboard.Http;
using Dataflow.Dashboard.Live;
using Dataflow.Engine;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Pages;

/// <summary>
/// The live batch: counts, progress, throughput and a latency histogram that update in place from a server-sent
/// event stream (our script writes the values as text), the gates the runs wait at with a form each, and the runs
/// that ended last. Answering a gate is the dashboard's only write.
/// </summary>
internal static class LivePage
{
    /// <summary>How often the stream sends a snapshot.</summary>
    public static readonly TimeSpan StreamInterval = TimeSpan.FromMilliseconds(500);

    private const double HistogramWidth = 640;
    private const double HistogramHeight = 120;

    public static async Task WriteAsync(DashboardApp app, HttpContext context)
    {
        var batch = Batch(app);
        var snapshot = batch.Snapshot();
        var html = Layout.Begin(app, context, "Live batch");
        html.Raw("<h1>Live batch <span id=\"live-status\" class=\"").Raw(snapshot.Finished ? "state state-done" : "state state-running").Raw("\">")
            .Text(snapshot.Finished ? "finished" : "running").Raw("</span></h1>")
            .Raw("<div id=\"live\" data-stream=\"").Attribute(html.BasePath + "/live/stream").Raw("\" data-base=\"").Attribute(html.BasePath).Raw("\" data-session=\"").Attribute(batch.SessionId).Raw("\">")
            .Raw("<progress id=\"live-progress\" max=\"").Raw(Math.Max(1, snapshot.Submitted).ToString(CultureInfo.InvariantCulture)).Raw("\" value=\"").Raw(snapshot.Ended.ToString(CultureInfo.InvariantCulture)).Raw("\"></progress>")
            .Raw("<dl class=\"counters\">");
        foreach (var (id, label, value) in Counters(snapshot))
        {
            html.Raw("<div><dt>").Text(label).Raw("</dt><dd id=\"live-").Raw(id).Raw("\">").Text(value).Raw("</dd></div>");
        }

        html.Raw("</dl><h2>Latency</h2>");
        WriteHistogram(html, snapshot.Latencies);
        html.Raw("<h2>Waiting at gates</h2>");
        WriteGates(html, snapshot.Gates, batch.SessionId, back: "live");
        html.Raw("<h2>Ended last</h2><table id=\"live-recent\"><thead><tr><th>run</th><th>state</th><th class=\"num\">duration</th><th>error</th></tr></thead><tbody>");
        foreach (var run in snapshot.Recent)
        {
            html.Raw("<tr><td>");
            RunLink(html, batch.SessionId, run.Id);
            html.Raw("</td>").Cell(run.State.ToString(), Layout.StateClass(run.State.ToString())).Cell(Display.Milliseconds(run.DurationMs), "num").Cell(run.Error, "error").Raw("</tr>");
        }

        html.Raw("</tbody></table></div>");
        await Layout.EndAsync(html, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Server-sent events: one JSON snapshot every <see cref="StreamInterval"/> until the browser leaves or the application stops.</summary>
    public static async Task StreamAsync(DashboardApp app, HttpContext context)
    {
        var batch = Batch(app);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, DashboardApp.Stopping(context));
        var response = context.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
        using var timer = new PeriodicTimer(StreamInterval, app.Time);
        do
        {
            var json = Json(batch.Snapshot());
            await response.WriteAsync("event: snapshot\ndata: " + json + "\n\n", stop.Token).ConfigureAwait(false);
            await response.Body.FlushAsync(stop.Token).ConfigureAwait(false);
        }
        while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false));
    }

    /// <summary>A gate's answer from its form: parsed for the gate's type, then given to <see cref="GraphEngine.ResolveGate"/>.</summary>
    public static async Task AnswerAsync(DashboardApp app, HttpContext context)
    {
        var batch = Batch(app);
        var request = context.Request;
        var gateId = RequestValues.GateId(request);
        CheckSameOrigin(request);
        if (request.ContentLength is null or > 64 * 1024 || !request.HasFormContentType)
        {
            throw new RequestProblem(StatusCodes.Status400BadRequest, "A gate's answer is a form post (application/x-www-form-urlencoded) of at most 64 KiB with a 'value' field.");
        }

        var form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var gate = batch.Engine.GetPendingGate(gateId)
            ?? throw new RequestProblem(StatusCodes.Status404NotFound, $"No gate '{gateId}' is waiting: it was answered already, timed out, or its run ended.");
        if (!GateValues.TryParse(gate, form["value"].ToString(), out var value, out var problem))
        {
            throw new RequestProblem(StatusCodes.Status400BadRequest, $"Gate {gate.Id} ({gate.Field}: {GateValues.TypeName(gate.Type)}) was not answered. {problem}");
        }

        try
        {
            if (!batch.Engine.ResolveGate(gateId, value))
            {
                throw new RequestProblem(StatusCodes.Status409Conflict, $"Gate '{gateId}' was answered or withdrawn meanwhile.");
            }
        }
        catch (ArgumentException e)
        {
            throw new RequestProblem(StatusCodes.Status400BadRequest, e.Message);
        }

        var basePath = app.BasePath(context);
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = form["back"].ToString() == "run" && batch.SessionId is { } session
            ? $"{basePath}/sessions/{Html.Url(session)}/runs/{Html.Url(gate.RunId)}"
            : basePath + "/live";
    }

    /// <summary>The gates as a table, a form per gate that posts its value.</summary>
    public static void WriteGates(Html html, IReadOnlyList<PendingGate> gates, string? sessionId, string back)
    {
        html.Raw("<table class=\"gates\" id=\"gates\"><thead><tr><th>run</th><th>gate</th><th>node</th><th>input</th><th>answer</th></tr></thead><tbody>");
        foreach (var gate in gates)
        {
            html.Raw("<tr data-gate=\"").Attribute(gate.Id).Raw("\"><td>");
            RunLink(html, sessionId, gate.RunId);
            html.Raw("</td>").Cell(gate.Id, "id").Cell(gate.NodeName)
                .Raw("<td>").Text($"{gate.Field}: {GateValues.TypeName(gate.Type)}");
            if (gate.Description is not null)
            {
                html.Raw(" <q>").Text(gate.Description).Raw("</q>");
            }

            html.Raw("</td><td><form method=\"post\" action=\"").Attribute($"{html.BasePath}/live/gates/{Html.Url(gate.Id)}").Raw("\">")
                .Raw("<input type=\"hidden\" name=\"back\" value=\"").Raw(back).Raw("\">")
                .Raw("<input name=\"value\" required maxlength=\"10000\" aria-label=\"value for ").Attribute(gate.Id).Raw("\" placeholder=\"").Attribute(GateValues.TypeName(gate.Type)).Raw("\">")
                .Raw("<button type=\"submit\">Answer</button></form></td></tr>");
        }

        html.Raw("</tbody></table>");
        if (gates.Count == 0)
        {
            html.Raw("<p class=\"empty\" id=\"gates-empty\">No run waits at a gate.</p>");
        }
    }

    private static LiveBatch Batch(DashboardApp app)
        => app.Options.Live ?? throw new RequestProblem(StatusCodes.Status404NotFound, "This dashboard has no live batch: `dataflow run --serve` shows the batch it runs.");

    /// <summary>
    /// The one POST is refused from another site: a browser's fetch metadata (Sec-Fetch-Site) must say same-origin;
    /// without it, the Origin header, when sent, must be this one.
    /// </summary>
    private static void CheckSameOrigin(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        var origin = request.Headers.Origin.ToString();
        var own = $"{request.Scheme}://{request.Host.Value}";
        var sameOrigin = site.Length > 0
            ? site is "same-origin" or "none"
            : origin.Length == 0 || string.Equals(origin, own, StringComparison.OrdinalIgnoreCase);
        if (!sameOrigin)
        {
            throw new RequestProblem(StatusCodes.Status403Forbidden, "Gates are answered from the dashboard's own pages only; this request came from another site.");
        }
    }

    private static void RunLink(Html html, string? sessionId, string runId)
    {
        if (sessionId is null)
        {
            html.Text(runId);
        }
        else
        {
            html.Link($"/sessions/{Html.Url(sessionId)}/runs/{Html.Url(runId)}", runId, "run");
        }
    }

    private static IEnumerable<(string Id, string Label, string Value)> Counters(LiveSnapshot s) =>
    [
        ("submitted", "submitted", Display.Number(s.Submitted)),
        ("ended", "ended", Display.Number(s.Ended)),
        ("done", "done", Display.Number(s.Done)),
        ("failed", "failed", Display.Number(s.Failed)),
        ("cancelled", "cancelled", Display.Number(s.Cancelled)),
        ("active", "in flight", Display.Number(s.Active)),
        ("waiting", "waiting", Display.Number(s.Waiting)),
        ("throughput", "runs/s", Display.Number(s.RunsPerSecond)),
        ("elapsed", "elapsed", Display.Milliseconds(s.ElapsedSeconds * 1000)),
    ];

    private static void WriteHistogram(Html html, IReadOnlyList<long> counts)
    {
        var max = Math.Max(1, counts.Max());
        var bar = HistogramWidth / counts.Count;
        html.Raw("<svg class=\"histogram\" id=\"live-histogram\" role=\"img\" aria-label=\"latency histogram\" viewBox=\"0 0 ").Raw(Timeline.N(HistogramWidth)).Raw(" ").Raw(Timeline.N(HistogramHeight + 30))
            .Raw("\" width=\"").Raw(Timeline.N(HistogramWidth)).Raw("\" height=\"").Raw(Timeline.N(HistogramHeight + 30)).Raw("\">");
        for (var i = 0; i < counts.Count; i++)
        {
            var height = HistogramHeight * counts[i] / max;
            html.Raw("<g><title id=\"hist-title-").Raw(i.ToString(CultureInfo.InvariantCulture)).Raw("\">").Text($"{LatencyBuckets.Label(i)}: {counts[i]}").Raw("</title>")
                .Raw("<rect id=\"hist-").Raw(i.ToString(CultureInfo.InvariantCulture)).Raw("\" x=\"").Raw(Timeline.N(i * bar + 2)).Raw("\" y=\"").Raw(Timeline.N(HistogramHeight - height))
                .Raw("\" width=\"").Raw(Timeline.N(bar - 4)).Raw("\" height=\"").Raw(Timeline.N(height)).Raw("\"/>")
                .Raw("<text class=\"axis\" x=\"").Raw(Timeline.N(i * bar + bar / 2)).Raw("\" y=\"").Raw(Timeline.N(HistogramHeight + 16)).Raw("\">").Text(LatencyBuckets.Label(i)).Raw("</text></g>");
        }

        html.Raw("</svg>");
    }

    private static string Json(LiveSnapshot s)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("counters");
            foreach (var (id, _, value) in Counters(s))
            {
                json.WriteString(id, value);
            }

            json.WriteEndObject();
            json.WriteNumber("submitted", s.Submitted);
            json.WriteNumber("ended", s.Ended);
            json.WriteBoolean("finished", s.Finished);
            json.WriteStartArray("latencies");
            foreach (var count in s.Latencies)
            {
                json.WriteNumberValue(count);
            }

            json.WriteEndArray();
            json.WriteStartArray("gates");
            foreach (var gate in s.Gates)
            {
                json.WriteStartObject();
                json.WriteString("id", gate.Id);
                json.WriteString("run", gate.RunId);
                json.WriteString("node", gate.NodeName);
                json.WriteString("input", $"{gate.Field}: {GateValues.TypeName(gate.Type)}");
                json.WriteString("description", gate.Description);
                json.WriteString("type", GateValues.TypeName(gate.Type));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("recent");
            foreach (var run in s.Recent)
            {
                json.WriteStartObject();
                json.WriteString("id", run.Id);
                json.WriteString("state", run.State.ToString());
                json.WriteString("duration", Display.Milliseconds(run.DurationMs));
                json.WriteString("error", run.Error);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}

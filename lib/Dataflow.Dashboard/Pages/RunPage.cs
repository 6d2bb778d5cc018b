using System.Globalization;
using Dataflow.Checkpoints;
using Dataflow.Dashboard.Http;
using Dataflow.Engine;
using Dataflow.Sqlite;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Pages;

/// <summary>One run: summary, input, error, its waterfall, live gates and timings when it runs in this process, checkpoints, events.</summary>
internal static class RunPage
{
    /// <summary>The most events one run page reads (a run may loop up to its iteration limit).</summary>
    public const int MaxEvents = 5_000;

    public static async Task WriteAsync(DashboardApp app, HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var sessionId = RequestValues.SessionId(context.Request);
        var runId = RequestValues.RunId(context.Request);
        var store = app.Store();
        var entries = new List<StoreEntry>();
        await foreach (var entry in store.SessionEntriesAsync(sessionId, runId, cancellationToken).ConfigureAwait(false))
        {
            if (entries.Count == MaxEvents)
            {
                break;
            }

            entries.Add(entry);
        }

        var live = app.Options.Live is { } batch && batch.SessionId == sessionId && !batch.IsFinished ? batch.Engine.Get(runId) : null;
        if (entries.Count == 0 && live is null)
        {
            throw new RequestProblem(StatusCodes.Status404NotFound, $"Session '{sessionId}' has no run '{runId}' in the store.");
        }

        var start = entries.FirstOrDefault(e => e.Event == "start");
        var end = entries.LastOrDefault(e => e.Event is "complete" or "fail" or "cancel");
        var state = end?.Event switch
        {
            "complete" => "Done",
            "fail" => "Failed",
            "cancel" => "Cancelled",
            _ => live?.State.ToString() ?? "Unfinished",
        };

        var html = Layout.Begin(app, context, "Run " + runId);
        html.Raw("<p class=\"crumbs\">").Link("/", "Sessions").Raw(" › ").Link("/sessions/" + Html.Url(sessionId), sessionId).Raw("</p>")
            .Raw("<h1>Run <span class=\"id\" id=\"run-id\">").Text(runId).Raw("</span> <span id=\"run-state\" class=\"").Raw(Layout.StateClass(state)).Raw("\">").Text(state).Raw("</span></h1>")
            .Raw("<dl class=\"summary\">")
            .Raw("<dt>graph</dt><dd>").Text(Layout.Field(start?.MetadataJson ?? end?.MetadataJson, "graph")).Raw("</dd>")
            .Raw("<dt>started</dt><dd>").Text(Display.Time(start?.Timestamp)).Raw("</dd>")
            .Raw("<dt>ended</dt><dd>").Text(Display.Time(end?.Timestamp)).Raw("</dd>")
            .Raw("<dt>duration</dt><dd>").Text(Display.Milliseconds(double.TryParse(Layout.Field(end?.MetadataJson, "duration_ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) ? ms : null)).Raw("</dd>")
            .Raw("<dt>ended at</dt><dd>").Text(Layout.Field(end?.MetadataJson, "node")).Raw("</dd>")
            .Raw("</dl>")
            .Raw("<h2>Input</h2><pre id=\"run-input\" class=\"text\">").Text(RunsPage.InputOf(start?.Content, runId) ?? "(no start event stored)").Raw("</pre>");
        if (Layout.Field(end?.MetadataJson, "error") is { } error)
        {
            html.Raw("<h2>Error</h2><pre id=\"run-error\" class=\"text error\">").Text(error).Raw("</pre>");
        }

        if (live is not null)
        {
            WriteLive(html, live);
        }

        html.Raw("<h2>Timeline</h2>");
        Timeline.Write(html, Timeline.FromEntries(entries), "run-timeline");

        WriteCheckpoints(html, store, sessionId, runId);

        html.Raw("<h2>Events</h2>");
        if (entries.Count == MaxEvents)
        {
            html.Raw("<p class=\"notice\">").Text($"The first {MaxEvents} events are shown.").Raw("</p>");
        }

        html.Raw("<table id=\"events\"><thead><tr><th class=\"num\">#</th><th>time</th><th class=\"num\">since start</th><th>event</th><th>node</th><th>content</th></tr></thead><tbody>");
        var origin = entries.Count > 0 ? entries[0].Timestamp : default;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var node = entry.Event == "transition"
                ? $"{Layout.Field(entry.MetadataJson, "from")} → {Layout.Field(entry.MetadataJson, "to")}"
                : Layout.Field(entry.MetadataJson, "node");
            html.Raw("<tr>").Cell((i + 1).ToString(CultureInfo.InvariantCulture), "num").Cell(Display.Time(entry.Timestamp))
                .Cell("+" + Display.Milliseconds((entry.Timestamp - origin).TotalMilliseconds), "num")
                .Cell(entry.Event, "event event-" + (entry.Event ?? "none"))
                .Cell(node)
                .Cell(entry.Content, "text")
                .Raw("</tr>");
            await html.FlushIfLargeAsync(cancellationToken).ConfigureAwait(false);
        }

        html.Raw("</tbody></table>");
        await Layout.EndAsync(html, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the engine knows of a run that is running here: its gates (with a form each) and its exact timings.</summary>
    private static void WriteLive(Html html, GraphRun run)
    {
        html.Raw("<h2>Live</h2><section class=\"live-run\"><p>").Text($"In this process: {run.State}, at {run.Graph.NameOf(run.CurrentNode.GetType())} for {Display.Milliseconds(run.Elapsed.TotalMilliseconds)}.").Raw("</p>");
        var gates = run.PendingGates;
        if (gates.Count > 0)
        {
            LivePage.WriteGates(html, gates, sessionId: null, back: "run");
        }

        var rows = run.NodeTimings
            .Select(t => new TimelineRow(t.Attempt > 1 ? $"{t.Node} (attempt {t.Attempt})" : t.Node, "node", (t.Start - run.StartedAt).TotalMilliseconds, t.DurationMs, null))
            .Concat(run.DepTimings.Select(d => new TimelineRow(d.Name + " (dependency)", "dependency", 0, d.DurationMs, "a dependency's duration; the engine does not record when it started")))
            .ToList();
        Timeline.Write(html, rows, "live-timeline");
        html.Raw("</section>");
    }

    /// <summary>
    /// A durable run's checkpoints, oldest first (the node after each transition, its state, gates or error), with a link
    /// to the run it reruns; a note when the run is not durable or the store keeps no checkpoints.
    /// </summary>
    private static void WriteCheckpoints(Html html, SessionHistory store, string sessionId, string runId)
    {
        html.Raw("<h2>Checkpoints and reruns</h2><section id=\"checkpoints\">");
        IReadOnlyList<RunCheckpoint> checkpoints;
        try
        {
            checkpoints = store.RunCheckpoints(runId);
        }
        catch (CheckpointsUnavailableException)
        {
            html.Raw("<p class=\"notice\">").Text("This store was made before durable runs: it keeps no checkpoints.").Raw("</p></section>");
            return;
        }

        if (checkpoints.Count == 0)
        {
            html.Raw("<p class=\"notice\">").Text("Not a durable run: it has no checkpoints (dataflow run --durable records them).").Raw("</p></section>");
            return;
        }

        if (checkpoints.FirstOrDefault(c => c.RerunOf is not null)?.RerunOf is { } of)
        {
            var ofSession = store.SessionOfRun(of) ?? sessionId;
            html.Raw("<p id=\"rerun-of\">").Text("A rerun of ").Link("/sessions/" + Html.Url(ofSession) + "/runs/" + Html.Url(of), of).Raw("</p>");
        }

        html.Raw("<table id=\"checkpoint-table\"><thead><tr><th class=\"num\">seq</th><th>state</th><th class=\"num\">step</th><th>node</th><th>at</th><th>gates / error</th></tr></thead><tbody>");
        foreach (var c in checkpoints)
        {
            html.Raw("<tr>").Cell(c.Sequence.ToString(CultureInfo.InvariantCulture), "num").Cell(c.State.ToString())
                .Cell(c.Step.ToString(CultureInfo.InvariantCulture), "num").Cell(c.NodeType).Cell(Display.Time(c.Timestamp))
                .Cell(c.Error ?? c.Gates ?? string.Empty, "text").Raw("</tr>");
        }

        html.Raw("</tbody></table>");
        if (checkpoints[^1].State is CheckpointState.Failed or CheckpointState.Cancelled)
        {
            html.Raw("<p class=\"notice\">").Text("Rerun it from its failing node with: dataflow rerun --failed --session " + sessionId).Raw("</p>");
        }

        html.Raw("</section>");
    }
}

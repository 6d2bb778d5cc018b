using System.Globalization;
using System.Text;
using Dataflow.Dashboard.Http;
using Dataflow.Sqlite;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Pages;

/// <summary>The runs of one session: state, times, duration, end node, error and input; filters; keyset paging.</summary>
internal static class RunsPage
{
    private static readonly string[] States = ["unfinished", "done", "failed", "cancelled"];

    public static async Task WriteAsync(DashboardApp app, HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var request = context.Request;
        var sessionId = RequestValues.SessionId(request);
        var now = app.Time.GetUtcNow();
        var stateText = RequestValues.Optional(request, "state");
        var query = new RunQuery
        {
            State = stateText switch
            {
                null or "any" => null,
                "unfinished" => StoredRunState.Unfinished,
                "done" => StoredRunState.Done,
                "failed" => StoredRunState.Failed,
                "cancelled" => StoredRunState.Cancelled,
                _ => throw new RequestProblem(StatusCodes.Status400BadRequest, $"'state' must be any, done, failed, cancelled or unfinished, was '{RequestValues.Shorten(stateText)}'."),
            },
            Node = RequestValues.Optional(request, "node"),
            Since = RequestValues.Time(request, "since", now),
            Until = RequestValues.Time(request, "until", now),
            Before = RequestValues.Cursor(request, "before"),
            Limit = RequestValues.Number(request, "limit", 1, DashboardOptions.MaxPageSize, app.Options.PageSize),
        };
        if (query.Node is not null && query.State == StoredRunState.Unfinished)
        {
            throw new RequestProblem(StatusCodes.Status400BadRequest, "'node' filters on the node a run ended at, and unfinished runs have not ended: drop one of the two.");
        }

        if (query.Since is { } since && query.Until is { } until && since > until)
        {
            throw new RequestProblem(StatusCodes.Status400BadRequest, "'since' is after 'until': no run can match.");
        }

        var store = app.Store();
        var session = store.Session(sessionId, countEntries: false) ?? throw new RequestProblem(StatusCodes.Status404NotFound, $"The store has no session '{sessionId}'.");

        var html = Layout.Begin(app, context, "Session " + sessionId);
        html.Raw("<h1>Runs of session <span class=\"id\">").Text(sessionId).Raw("</span></h1><p class=\"muted\">started ")
            .Text(Display.Time(session.StartedAt));
        if (Layout.Field(session.MetadataJson, "graph") is { } graph)
        {
            html.Raw(" · graph ").Text(graph);
        }

        html.Raw("</p>");
        WriteFilters(html, sessionId, stateText, request);
        html.Raw("<table id=\"runs\"><thead><tr><th>run</th><th>state</th><th>started</th><th class=\"num\">duration</th><th>node</th><th>error</th><th>input</th></tr></thead><tbody>");
        var count = 0;
        long last = 0;
        await foreach (var run in store.RunsAsync(sessionId, query, cancellationToken).ConfigureAwait(false))
        {
            count++;
            last = run.Cursor;
            var state = run.State.ToString();
            html.Raw("<tr><td>").Link($"/sessions/{Html.Url(sessionId)}/runs/{Html.Url(run.RunId)}", run.RunId, "run").Raw("</td>")
                .Cell(state, Layout.StateClass(state))
                .Cell(Display.Time(run.StartedAt))
                .Cell(Display.Milliseconds(run.DurationMs), "num")
                .Cell(run.Node)
                .Cell(run.Error, "error")
                .Cell(InputOf(run.Input, run.RunId), "input")
                .Raw("</tr>");
            await html.FlushIfLargeAsync(cancellationToken).ConfigureAwait(false);
        }

        html.Raw("</tbody></table>");
        if (count == 0)
        {
            html.Raw("<p class=\"empty\">No runs match.</p>");
        }

        html.Raw("<nav class=\"pager\">");
        if (query.Before is not null)
        {
            html.Link(PageLink(sessionId, request, null), "« newest");
        }

        if (count == query.Limit)
        {
            html.Link(PageLink(sessionId, request, last), "older »", "older");
        }

        html.Raw("</nav>");
        await Layout.EndAsync(html, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The input part of a start line (<c>g7 started: Order { … }</c> → <c>Order { … }</c>).</summary>
    public static string? InputOf(string? startLine, string runId)
    {
        var prefix = runId + " started: ";
        return startLine is not null && startLine.StartsWith(prefix, StringComparison.Ordinal) ? startLine[prefix.Length..] : startLine;
    }

    private static void WriteFilters(Html html, string sessionId, string? state, HttpRequest request)
    {
        html.Raw("<form class=\"filters\" method=\"get\" action=\"").Attribute($"{html.BasePath}/sessions/{Html.Url(sessionId)}").Raw("\">")
            .Raw("<label>state <select name=\"state\"><option value=\"any\">any</option>");
        foreach (var option in States)
        {
            html.Raw("<option value=\"").Raw(option).Raw(option == state ? "\" selected>" : "\">").Raw(option).Raw("</option>");
        }

        html.Raw("</select></label>")
            .Raw("<label>ended at node <input name=\"node\" maxlength=\"200\" value=\"").Attribute(RequestValues.Optional(request, "node")).Raw("\"></label>")
            .Raw("<label>since <input name=\"since\" maxlength=\"40\" placeholder=\"2h or 2026-11-27T10:00\" value=\"").Attribute(RequestValues.Optional(request, "since")).Raw("\"></label>")
            .Raw("<label>until <input name=\"until\" maxlength=\"40\" placeholder=\"30m or 2026-11-27T11:00\" value=\"").Attribute(RequestValues.Optional(request, "until")).Raw("\"></label>")
            .Raw("<button type=\"submit\">Filter</button></form>");
    }

    private static string PageLink(string sessionId, HttpRequest request, long? before)
    {
        var link = new StringBuilder("/sessions/").Append(Html.Url(sessionId)).Append('?');
        foreach (var name in new[] { "state", "node", "since", "until", "limit" })
        {
            if (RequestValues.Optional(request, name) is { } value)
            {
                link.Append(name).Append('=').Append(Html.Url(value)).Append('&');
            }
        }

        if (before is { } cursor)
        {
            link.Append("before=").Append(cursor.ToString(CultureInfo.InvariantCulture));
        }

        return link.ToString().TrimEnd('&', '?');
    }
}

using System.Globalization;
using Dataflow.Dashboard.Http;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Pages;

/// <summary>The start page: every session in the store, newest first.</summary>
internal static class SessionsPage
{
    public static async Task WriteAsync(DashboardApp app, HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var store = app.Store();
        var sessions = store.Sessions();
        var html = Layout.Begin(app, context, "Sessions");
        html.Raw("<h1>Sessions</h1><p class=\"muted\">").Text(store.Path).Raw("</p>");
        if (app.Options.Live is not null)
        {
            html.Raw("<p class=\"notice\">A batch is running in this process: ").Link("/live", "follow it live").Raw(".</p>");
        }

        if (sessions.Count == 0)
        {
            html.Raw("<p class=\"empty\">The store has no sessions yet.</p>");
        }
        else
        {
            html.Raw("<table id=\"sessions\"><thead><tr><th>session</th><th>started</th><th class=\"num\">entries</th><th>command</th><th>graph</th><th>working directory</th></tr></thead><tbody>");
            foreach (var session in sessions)
            {
                html.Raw("<tr><td>").Link("/sessions/" + Html.Url(session.Id), session.Id, "session").Raw("</td>")
                    .Cell(Display.Time(session.StartedAt))
                    .Cell(session.EntryCount.ToString("#,0", CultureInfo.InvariantCulture), "num")
                    .Cell(Layout.Field(session.MetadataJson, "command"))
                    .Cell(Layout.Field(session.MetadataJson, "graph"))
                    .Cell(session.Cwd)
                    .Raw("</tr>");
                await html.FlushIfLargeAsync(cancellationToken).ConfigureAwait(false);
            }

            html.Raw("</tbody></table>");
        }

        await Layout.EndAsync(html, cancellationToken).ConfigureAwait(false);
    }
}

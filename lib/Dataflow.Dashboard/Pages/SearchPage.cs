using Dataflow.Dashboard.Http;
using Dataflow.Sqlite;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Pages;

/// <summary>Search: the store's plain-text search (every word must occur; a trailing * makes a prefix), as the CLI's <c>search</c>; hits link to their runs.</summary>
internal static class SearchPage
{
    // Markers for the highlighted terms, from the Private Use Area: the snippet is cut at them and each part encoded.
    private const string Open = "\uE000";
    private const string Close = "\uE001";

    public static async Task WriteAsync(DashboardApp app, HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var request = context.Request;
        var text = RequestValues.Optional(request, "q");
        var sessionId = RequestValues.Optional(request, "session");
        if (sessionId is not null && (sessionId.Length > 64 || !sessionId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
        {
            throw new RequestProblem(StatusCodes.Status400BadRequest, $"'{RequestValues.Shorten(sessionId)}' is not a session id (letters, digits and dashes).");
        }

        var limit = RequestValues.Number(request, "limit", 1, 500, 50);
        var html = Layout.Begin(app, context, text is null ? "Search" : "Search: " + text, text);
        html.Raw("<h1>Search</h1>");
        if (text is null)
        {
            html.Raw("<p class=\"empty\">Type words to look for in every run's events: an order number, a customer, an error. Every word must occur; a trailing * makes a prefix.</p>");
            await Layout.EndAsync(html, cancellationToken).ConfigureAwait(false);
            return;
        }

        var store = app.Store();
        html.Raw("<table id=\"results\"><thead><tr><th>time</th><th>run</th><th>event</th><th>match</th><th>session</th></tr></thead><tbody>");
        var count = 0;
        var options = new SearchOptions { Limit = limit, SessionId = sessionId, HighlightStart = Open, HighlightEnd = Close };
        await foreach (var hit in store.SearchAsync(text, options, cancellationToken).ConfigureAwait(false))
        {
            count++;
            html.Raw("<tr>").Cell(Display.Time(hit.Timestamp)).Raw("<td>");
            if (hit.RunId is { } runId)
            {
                html.Link($"/sessions/{Html.Url(hit.SessionId)}/runs/{Html.Url(runId)}", runId, "run");
            }

            html.Raw("</td>").Cell(hit.Event).Raw("<td class=\"text\">");
            WriteSnippet(html, hit.Snippet ?? hit.Content);
            html.Raw("</td><td>").Link("/sessions/" + Html.Url(hit.SessionId), hit.SessionId[..Math.Min(8, hit.SessionId.Length)] + "…", "session").Raw("</td></tr>");
            await html.FlushIfLargeAsync(cancellationToken).ConfigureAwait(false);
        }

        html.Raw("</tbody></table>");
        if (count == 0)
        {
            html.Raw("<p class=\"empty\">No entries match.</p>");
        }

        await Layout.EndAsync(html, cancellationToken).ConfigureAwait(false);
    }

    private static void WriteSnippet(Html html, string snippet)
    {
        var inside = false;
        foreach (var part in snippet.Split([Open, Close], StringSplitOptions.None))
        {
            if (inside)
            {
                html.Raw("<mark>").Text(part).Raw("</mark>");
            }
            else
            {
                html.Text(part);
            }

            inside = !inside;
        }
    }
}

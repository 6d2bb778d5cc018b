using System.Text.Json;
using Dataflow.Dashboard.Http;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Pages;

/// <summary>The frame of every page: head (our one stylesheet and one script), navigation with a search box, main.</summary>
internal static class Layout
{
    public static Html Begin(DashboardApp app, HttpContext context, string title, string? query = null)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        var html = new Html(context.Response, app.BasePath(context)) { Live = app.Options.Live is not null };
        html.Raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Raw("<title>").Text(title).Raw(" · Dataflow</title>")
            .Raw("<link rel=\"stylesheet\" href=\"").Attribute(html.BasePath + "/assets/dashboard.css").Raw("\">")
            .Raw("<script src=\"").Attribute(html.BasePath + "/assets/dashboard.js").Raw("\" defer></script>")
            .Raw("</head><body><header><nav>")
            .Link("/", "Dataflow", "brand")
            .Link("/", "Sessions")
            .Link("/graph", "Graph");
        if (app.Options.Live is not null)
        {
            html.Link("/live", "Live batch", "live");
        }

        html.Raw("<form class=\"search\" method=\"get\" action=\"").Attribute(html.BasePath + "/search").Raw("\">")
            .Raw("<input type=\"search\" name=\"q\" placeholder=\"Search runs (plain words)\" aria-label=\"Search\" maxlength=\"500\" value=\"").Attribute(query).Raw("\">")
            .Raw("<button type=\"submit\">Search</button></form></nav></header><main>");
        return html;
    }

    public static Task EndAsync(Html html, CancellationToken cancellationToken)
    {
        html.Raw("</main><footer>Dataflow dashboard · ").Raw(html.Live ? "read-only except gate answers" : "read-only");
        html.Raw("</footer></body></html>\n");
        return html.FlushAsync(cancellationToken);
    }

    /// <summary>A string field of a JSON metadata object, or null when absent or not JSON.</summary>
    public static string? Field(string? json, string name)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(name, out var value)
                ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.ToString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string StateClass(string state) => "state state-" + state.ToLowerInvariant();
}

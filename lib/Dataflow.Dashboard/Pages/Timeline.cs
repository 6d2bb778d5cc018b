using System.Globalization;
using System.Text.Json;
using Dataflow.Sqlite;

namespace Dataflow.Dashboard.Pages;

/// <summary>One bar of a waterfall: what the run was doing from <see cref="StartMs"/> for <see cref="DurationMs"/>.</summary>
internal sealed record TimelineRow(string Label, string Kind, double StartMs, double DurationMs, string? Detail);

/// <summary>
/// A run's waterfall. From the store: the time between two consecutive events of the run is spent at the node the
/// later event names (a transition's source, a retry's or the final event's node), as a wait at a gate after a gate
/// event, or in a backoff after a retry event. From a live run: the engine's own node and dependency timings.
/// Drawn as SVG with widths in attributes (no inline styles, so the content security policy holds).
/// </summary>
internal static class Timeline
{
    private const double Width = 960;
    private const double LabelWidth = 200;
    private const double RowHeight = 22;
    private const double ValueWidth = 70;

    public static IReadOnlyList<TimelineRow> FromEntries(IReadOnlyList<StoreEntry> entries)
    {
        var rows = new List<TimelineRow>();
        var events = entries.Where(e => e.Event is not null).ToList();
        if (events.Count == 0)
        {
            return rows;
        }

        var origin = events[0].Timestamp;
        var previous = events[0];
        foreach (var entry in events.Skip(1))
        {
            var start = (previous.Timestamp - origin).TotalMilliseconds;
            var duration = Math.Max(0, (entry.Timestamp - previous.Timestamp).TotalMilliseconds);
            var node = Field(entry.MetadataJson, entry.Event == "transition" ? "from" : "node") ?? Field(previous.MetadataJson, "to") ?? "?";
            var (kind, label) = previous.Event switch
            {
                "gate" => ("gate", node + " (waiting at gate)"),
                "retry" => ("backoff", node + " (backoff)"),
                _ => (entry.Event == "retry" ? "failed-attempt" : "node", node),
            };
            if (entry.Event is "start" or "error")
            {
                previous = entry.Event == "start" ? entry : previous;
                continue;
            }

            rows.Add(new TimelineRow(label, kind, start, duration, Field(entry.MetadataJson, "error")));
            previous = entry;
        }

        return rows;
    }

    public static void Write(Html html, IReadOnlyList<TimelineRow> rows, string id)
    {
        if (rows.Count == 0)
        {
            html.Raw("<p class=\"empty\">No timed events: the run's events were not stored at a policy that keeps transitions.</p>");
            return;
        }

        var total = Math.Max(rows.Max(r => r.StartMs + r.DurationMs), 0.001);
        var scale = (Width - LabelWidth - ValueWidth) / total;
        var height = (rows.Count + 1) * RowHeight + 10;
        html.Raw("<svg class=\"timeline\" id=\"").Raw(id).Raw("\" role=\"img\" aria-label=\"timeline\" viewBox=\"0 0 ").Raw(N(Width)).Raw(" ").Raw(N(height))
            .Raw("\" width=\"").Raw(N(Width)).Raw("\" height=\"").Raw(N(height)).Raw("\">");
        for (var tick = 0; tick <= 4; tick++)
        {
            var x = LabelWidth + (Width - LabelWidth - ValueWidth) * tick / 4;
            html.Raw("<line class=\"tick\" x1=\"").Raw(N(x)).Raw("\" y1=\"0\" x2=\"").Raw(N(x)).Raw("\" y2=\"").Raw(N(height - 14)).Raw("\"/>")
                .Raw("<text class=\"axis\" x=\"").Raw(N(x)).Raw("\" y=\"").Raw(N(height - 2)).Raw("\">").Text(Display.Milliseconds(total * tick / 4)).Raw("</text>");
        }

        for (var i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var y = i * RowHeight + 4;
            html.Raw("<g class=\"row ").Raw(row.Kind).Raw("\"><title>").Text($"{row.Label}: {Display.Milliseconds(row.DurationMs)} from {Display.Milliseconds(row.StartMs)}{(row.Detail is null ? string.Empty : " — " + row.Detail)}").Raw("</title>")
                .Raw("<text class=\"label\" x=\"4\" y=\"").Raw(N(y + 14)).Raw("\">").Text(Cut(row.Label)).Raw("</text>")
                .Raw("<rect x=\"").Raw(N(LabelWidth + row.StartMs * scale)).Raw("\" y=\"").Raw(N(y + 2)).Raw("\" width=\"").Raw(N(Math.Max(1, row.DurationMs * scale)))
                .Raw("\" height=\"").Raw(N(RowHeight - 6)).Raw("\" rx=\"2\"/>")
                .Raw("<text class=\"value\" x=\"").Raw(N(LabelWidth + (row.StartMs + row.DurationMs) * scale + 4)).Raw("\" y=\"").Raw(N(y + 14)).Raw("\">").Text(Display.Milliseconds(row.DurationMs)).Raw("</text></g>");
        }

        html.Raw("</svg>");
    }

    public static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Cut(string text) => text.Length <= 28 ? text : string.Concat(text.AsSpan(0, 27), "…");

    private static string? Field(string? json, string name)
    {
        if (json is null)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

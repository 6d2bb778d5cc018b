using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Pages;

/// <summary>
/// Builds a page. Markup comes only from our own constants (<see cref="Raw"/>); every value, and above all every
/// stored string (inputs, errors, node names: whatever node code and inputs put there), goes through the HTML encoder
/// (<see cref="Text"/>, <see cref="Attribute"/>), so it shows as text and never becomes markup. The page is written to
/// the response in chunks as it grows, so a long page streams.
/// </summary>
internal sealed class Html(HttpResponse response, string basePath)
{
    private const int ChunkChars = 16 * 1024;

    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;

    private readonly StringBuilder _text = new(ChunkChars + 1024);

    /// <summary>Whether the dashboard shows a live batch (whose gates it answers), for the footer.</summary>
    public bool Live { get; init; }

    /// <summary>The path the dashboard is mapped at (empty at the root); every link starts with it.</summary>
    public string BasePath => basePath;

    /// <summary>Our own markup, never a value.</summary>
    public Html Raw(string markup)
    {
        _text.Append(markup);
        return this;
    }

    /// <summary>A value as text content.</summary>
    public Html Text(string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            Encoder.Encode(new StringWriter(_text, CultureInfo.InvariantCulture), value);
        }

        return this;
    }

    /// <summary>A value inside a quoted attribute (the encoder escapes quotes too).</summary>
    public Html Attribute(string? value) => Text(value);

    /// <summary>A link: <c>&lt;a href="base + path"&gt;text&lt;/a&gt;</c>, the path's dynamic parts already URL-encoded by the caller.</summary>
    public Html Link(string path, string? text, string? cssClass = null)
    {
        Raw("<a href=\"").Attribute(basePath + path).Raw("\"");
        if (cssClass is not null)
        {
            Raw(" class=\"").Attribute(cssClass).Raw("\"");
        }

        return Raw(">").Text(text).Raw("</a>");
    }

    /// <summary>A table cell with text.</summary>
    public Html Cell(string? value, string? cssClass = null)
    {
        Raw(cssClass is null ? "<td>" : "<td class=\"" + cssClass + "\">");
        return Text(value).Raw("</td>");
    }

    /// <summary>Writes what has been built when it is big enough to send.</summary>
    public ValueTask FlushIfLargeAsync(CancellationToken cancellationToken)
        => _text.Length >= ChunkChars ? new ValueTask(FlushAsync(cancellationToken)) : ValueTask.CompletedTask;

    /// <summary>Writes what has been built.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_text.Length == 0)
        {
            return;
        }

        var text = _text.ToString();
        _text.Clear();
        await response.WriteAsync(text, Encoding.UTF8, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A URL path segment or query value.</summary>
    public static string Url(string value) => Uri.EscapeDataString(value);
}

/// <summary>How times, durations and states read on the pages.</summary>
internal static class Display
{
    public static string Time(DateTimeOffset? time)
        => time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "–";

    public static string Milliseconds(double? milliseconds) => milliseconds switch
    {
        null => "–",
        < 1 => milliseconds.Value.ToString("0.###", CultureInfo.InvariantCulture) + " ms",
        < 1_000 => milliseconds.Value.ToString("0.#", CultureInfo.InvariantCulture) + " ms",
        < 60_000 => (milliseconds.Value / 1_000).ToString("0.##", CultureInfo.InvariantCulture) + " s",
        _ => TimeSpan.FromMilliseconds(milliseconds.Value).ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture),
    };

    public static string Number(double value) => value.ToString("#,0.#", CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString("#,0", CultureInfo.InvariantCulture);
}

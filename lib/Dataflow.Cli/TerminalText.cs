using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Dataflow.Cli;

/// <summary>
/// Makes text from the store, from input data or from node code safe to print on a terminal: every control
/// character (C0 including tab and newline, DEL, C1) becomes a visible escape, so that stored text can neither
/// move the cursor, retitle or clear the terminal, nor break a table row. <c>\t</c>, <c>\n</c> and <c>\r</c> are
/// written as such; any other control character as <c>\xHH</c> (ESC is <c>\x1b</c>, BEL <c>\x07</c>, CSI
/// <c>\x9b</c>). Only human-readable output goes through here; <c>--json</c> output is exact, JSON escaping
/// already keeps it free of raw control characters.
/// </summary>
internal static class TerminalText
{
    /// <summary>The text with its control characters escaped; the same instance when it has none.</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var first = text.AsSpan().IndexOfAnyInRange('\0', '\u001f');
        var other = text.AsSpan().IndexOfAnyInRange('\u007f', '\u009f');
        if (first < 0 && other < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            switch (c)
            {
                case '\t':
                    builder.Append("\\t");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case < ' ' or (>= '\u007f' and <= '\u009f'):
                    builder.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        return builder.ToString();
    }

    /// <summary>For a Spectre.Console table cell or markup line: control characters escaped, then markup escaped.</summary>
    public static string Cell(string? text) => Markup.Escape(Escape(text));
}

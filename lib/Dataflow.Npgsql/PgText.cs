using System.Text;

namespace Dataflow.Npgsql;

/// <summary>
/// Makes any .NET string storable as PostgreSQL <c>text</c>: a database in UTF-8 refuses the NUL character and a lone
/// UTF-16 surrogate cannot be encoded, so both become U+FFFD. Applied to everything written and to every search parameter,
/// so that hostile text is stored and searched, never a failed batch or a raw error.
/// </summary>
internal static class PgText
{
    public static string Clean(string text)
    {
        var i = 0;
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || (char.IsSurrogate(c) && !IsPair(text, i)))
            {
                break;
            }

            if (char.IsHighSurrogate(c))
            {
                i++;
            }
        }

        if (i == text.Length)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        builder.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || (char.IsSurrogate(c) && !IsPair(text, i)))
            {
                builder.Append('\uFFFD');
            }
            else if (char.IsHighSurrogate(c))
            {
                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    public static string? CleanOrNull(string? text) => text is null ? null : Clean(text);

    private static bool IsPair(string text, int i)
        => char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
}

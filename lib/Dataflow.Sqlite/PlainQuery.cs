using System.Globalization;
using System.Text;

namespace Dataflow.Sqlite;

/// <summary>Turns a user's plain search text into an FTS5 query that cannot be a syntax error.</summary>
internal static class PlainQuery
{
    /// <summary>
    /// Each whitespace-separated word becomes a quoted FTS5 string (inner quotes doubled), so every character is
    /// literal; words must all occur. A trailing <c>*</c> on a word makes it a prefix. Words with no letter or
    /// digit (which the tokenizer would index as nothing) are left out.
    /// </summary>
    /// <returns>The FTS5 query, or null when no searchable word remains.</returns>
    public static string? ToFts(string text)
    {
        var builder = new StringBuilder();
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            // The tokenizer splits stored text at NUL like at any separator; inside the quotes it makes a phrase, as "a-b" does.
            var term = word.Replace('\0', ' ');
            var prefix = term.EndsWith('*');
            term = term.TrimEnd('*');
            if (!HasTokenCharacter(term))
            {
                continue;
            }

            if (builder.Length > 0)
            {
                builder.Append(' ');
            }

            builder.Append('"').Append(term.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
            if (prefix)
            {
                builder.Append('*');
            }
        }

        return builder.Length == 0 ? null : builder.ToString();
    }

    private static bool HasTokenCharacter(string term)
    {
        foreach (var rune in term.EnumerateRunes())
        {
            switch (Rune.GetUnicodeCategory(rune))
            {
                case UnicodeCategory.UppercaseLetter:
                case UnicodeCategory.LowercaseLetter:
                case UnicodeCategory.TitlecaseLetter:
                case UnicodeCategory.ModifierLetter:
                case UnicodeCategory.OtherLetter:
                case UnicodeCategory.DecimalDigitNumber:
                case UnicodeCategory.LetterNumber:
                case UnicodeCategory.OtherNumber:
                case UnicodeCategory.PrivateUse:
                    return true;
            }
        }

        return false;
    }
}

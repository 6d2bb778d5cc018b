using System.Globalization;
using System.Text;

namespace Dataflow.Npgsql;

/// <summary>
/// Turns a user's plain search text into a tsquery expression whose every piece of user text is a parameter: the words
/// go to <c>plainto_tsquery</c>, which reads any text without a syntax error, and a word with a trailing <c>*</c>
/// becomes a prefix by appending <c>:*</c> to the server's own rendering of its query (never to user text).
/// </summary>
internal static class PlainQuery
{
    /// <summary>Prefix words beyond this many are searched as whole words, so a hostile query cannot need thousands of parameters.</summary>
    internal const int MaxPrefixWords = 32;

    /// <summary>The SQL expression and its parameters, or null when no searchable word remains.</summary>
    public static (string Sql, Dictionary<string, object?> Parameters)? ToTsQuery(string text)
    {
        var words = new StringBuilder();
        var prefixes = new List<string>();
        foreach (var raw in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var word = PgText.Clean(raw);
            var prefix = word.EndsWith('*') && prefixes.Count < MaxPrefixWords;
            word = word.TrimEnd('*');
            if (!HasTokenCharacter(word))
            {
                continue;
            }

            if (prefix)
            {
                prefixes.Add(word);
            }
            else
            {
                words.Append(words.Length > 0 ? " " : string.Empty).Append(word);
            }
        }

        if (words.Length == 0 && prefixes.Count == 0)
        {
            return null;
        }

        var parts = new List<string>();
        var parameters = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (words.Length > 0)
        {
            parts.Add("plainto_tsquery('simple', @Words)");
            parameters["Words"] = words.ToString();
        }

        for (var i = 0; i < prefixes.Count; i++)
        {
            var name = "Prefix" + i.ToString(CultureInfo.InvariantCulture);
            parts.Add($"(CASE WHEN numnode(plainto_tsquery('simple', @{name})) = 0 THEN ''::tsquery ELSE (plainto_tsquery('simple', @{name})::text || ':*')::tsquery END)");
            parameters[name] = prefixes[i];
        }

        return ("(" + string.Join(" && ", parts) + ")", parameters);
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
                    return true;
            }
        }

        return false;
    }
}

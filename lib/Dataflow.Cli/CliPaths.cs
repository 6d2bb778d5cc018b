namespace Dataflow.Cli;

/// <summary>Checks of the path options (<c>--db</c>, <c>--input</c>, <c>--assembly</c>) before anything opens them.</summary>
internal static class CliPaths
{
    /// <summary>Adds a problem when <paramref name="value"/> cannot name a file: empty, blank, or holding a NUL character.</summary>
    public static void Check(List<string> errors, string option, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{option} '{value}' is empty: give a file path.");
        }
        else if (value.Contains('\0', StringComparison.Ordinal))
        {
            errors.Add($"{option} '{value}' is not a valid path: it holds a NUL character.");
        }
    }

    /// <summary>Throws when <paramref name="value"/> cannot name a file.</summary>
    /// <exception cref="CliException">The path is empty, blank or invalid.</exception>
    public static string Require(string option, string value)
    {
        var errors = new List<string>();
        Check(errors, option, value);
        return errors.Count == 0 ? value : throw new CliException(errors);
    }
}

using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Http;

/// <summary>A request the dashboard refuses: a 4xx status and a plain message that says what was wrong.</summary>
internal sealed class RequestProblem(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>Reads and checks a request's values; anything out of bounds is a <see cref="RequestProblem"/> that names it.</summary>
internal static partial class RequestValues
{
    /// <summary>The longest query string accepted.</summary>
    public const int MaxQueryLength = 2_048;

    /// <summary>The longest single value accepted.</summary>
    public const int MaxValueLength = 500;

    /// <summary>Refuses a query string that is too long, or a value that is too long or given twice.</summary>
    public static void CheckQuery(HttpRequest request)
    {
        if (request.QueryString.HasValue && request.QueryString.Value!.Length > MaxQueryLength)
        {
            throw new RequestProblem(StatusCodes.Status414RequestUriTooLong, $"The query string is {request.QueryString.Value.Length} characters long; at most {MaxQueryLength} are accepted.");
        }

        foreach (var (key, values) in request.Query)
        {
            if (values.Count > 1)
            {
                throw new RequestProblem(StatusCodes.Status400BadRequest, $"The parameter '{Shorten(key)}' is given {values.Count} times; give it once.");
            }

            if (values.ToString().Length > MaxValueLength)
            {
                throw new RequestProblem(StatusCodes.Status400BadRequest, $"The parameter '{Shorten(key)}' is {values.ToString().Length} characters long; at most {MaxValueLength} are accepted.");
            }
        }
    }

    /// <summary>A query value, or null when absent or empty.</summary>
    public static string? Optional(HttpRequest request, string name)
        => request.Query.TryGetValue(name, out var values) && !string.IsNullOrWhiteSpace(values.ToString()) ? values.ToString().Trim() : null;

    /// <summary>A session id from the path: letters, digits and dashes (sessions are UUIDs).</summary>
    public static string SessionId(HttpRequest request) => Id(request, "session", SessionPattern(), "a session id (letters, digits and dashes, as in the sessions list)");

    /// <summary>A run id from the path, such as <c>g7</c>, or <c>g7/3</c> for a fan-out's child (its '/' escaped in the path).</summary>
    public static string RunId(HttpRequest request) => Id(request, "run", RunPattern(), "a run id such as g7 or g7/3 (letters, digits, '.', '_', ':', '-' and '/')", unescape: true);

    /// <summary>A gate id from the path, such as <c>g7.0</c> (or <c>g7/3.0</c>, a child's).</summary>
    public static string GateId(HttpRequest request) => Id(request, "gate", RunPattern(), "a gate id such as g7.0", unescape: true);

    /// <summary>A positive keyset cursor, or null.</summary>
    public static long? Cursor(HttpRequest request, string name)
    {
        var text = Optional(request, name);
        if (text is null)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new RequestProblem(StatusCodes.Status400BadRequest, $"'{name}' must be a positive whole number from a page's 'older' link, was '{Shorten(text)}'.");
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>, or the default.</summary>
    public static int Number(HttpRequest request, string name, int min, int max, int fallback)
    {
        var text = Optional(request, name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new RequestProblem(StatusCodes.Status400BadRequest, $"'{name}' must be a whole number from {min} to {max}, was '{Shorten(text)}'.");
    }

    /// <summary>A time: ISO 8601 (UTC unless it says otherwise), or an age such as 30m, 2h or 7d before now.</summary>
    public static DateTimeOffset? Time(HttpRequest request, string name, DateTimeOffset now)
    {
        var text = Optional(request, name);
        if (text is null)
        {
            return null;
        }

        if (AgePattern().Match(text) is { Success: true } age
            && double.TryParse(age.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && amount <= 100_000)
        {
            return now - (age.Groups[2].Value switch
            {
                "s" => TimeSpan.FromSeconds(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "h" => TimeSpan.FromHours(amount),
                _ => TimeSpan.FromDays(amount),
            });
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw new RequestProblem(StatusCodes.Status400BadRequest, $"'{name}' must be an ISO 8601 time (2026-11-27T10:00) or an age (30m, 2h, 7d), was '{Shorten(text)}'.");
    }

    public static string Shorten(string text)
    {
        var cut = text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 60), "…");
        return string.Concat(cut.Select(c => char.IsControl(c) ? '?' : c));
    }

    private static string Id(HttpRequest request, string name, Regex pattern, string what, bool unescape = false)
    {
        // The server leaves an escaped '/' (%2F) escaped in a path segment: a child run's id comes as g7%2F3.
        var value = request.RouteValues[name] as string ?? string.Empty;
        value = unescape && value.Contains('%', StringComparison.Ordinal) ? Uri.UnescapeDataString(value) : value;
        return pattern.IsMatch(value)
            ? value
            : throw new RequestProblem(StatusCodes.Status400BadRequest, $"'{Shorten(value)}' is not {what}.");
    }

    [GeneratedRegex(@"^[A-Za-z0-9-]{1,64}\z")]
    private static partial Regex SessionPattern();

    [GeneratedRegex(@"^[A-Za-z0-9._:/-]{1,128}\z")]
    private static partial Regex RunPattern();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)([smhd])\z")]
    private static partial Regex AgePattern();
}

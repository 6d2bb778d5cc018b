using System.Globalization;
using System.Text.Json;
using Dataflow.Engine;

namespace Dataflow.Dashboard.Live;

/// <summary>
/// Turns the text a user typed for a gate into a value of the gate's type: booleans (true/false, yes/no, on/off),
/// numbers, enums by name, GUIDs, times and durations in invariant culture, strings as typed, and anything else as
/// JSON. The engine still checks the value's type when it resolves the gate (<see cref="GraphEngine.ResolveGate"/>).
/// </summary>
internal static class GateValues
{
    /// <summary>The most characters a gate value may have.</summary>
    public const int MaxLength = 10_000;

    /// <summary>Parses <paramref name="text"/> for <paramref name="gate"/>, or says why it cannot.</summary>
    public static bool TryParse(PendingGate gate, string? text, out object? value, out string problem)
    {
        value = null;
        problem = string.Empty;
        text ??= string.Empty;
        if (text.Length > MaxLength)
        {
            problem = $"The value is {text.Length} characters long; at most {MaxLength} are accepted.";
            return false;
        }

        var nullable = Nullable.GetUnderlyingType(gate.Type);
        var type = nullable ?? gate.Type;
        var trimmed = text.Trim();
        if (trimmed.Length == 0 && (nullable is not null || (!type.IsValueType && type != typeof(string))))
        {
            return true;
        }

        try
        {
            value = type switch
            {
                _ when type == typeof(string) => text,
                _ when type == typeof(bool) => Boolean(trimmed),
                _ when type.IsEnum => Enum.Parse(type, trimmed, ignoreCase: true),
                _ when type == typeof(Guid) => Guid.Parse(trimmed, CultureInfo.InvariantCulture),
                _ when type == typeof(DateTimeOffset) => DateTimeOffset.Parse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                _ when type == typeof(DateTime) => DateTime.Parse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
                _ when type == typeof(TimeSpan) => TimeSpan.Parse(trimmed, CultureInfo.InvariantCulture),
                _ when type == typeof(char) => trimmed.Length == 1 ? trimmed[0] : throw new FormatException("give exactly one character"),
                _ when IsNumber(type) => Convert.ChangeType(decimal.Parse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture), type, CultureInfo.InvariantCulture),
                _ when type == typeof(double) || type == typeof(float) => Convert.ChangeType(double.Parse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture), type, CultureInfo.InvariantCulture),
                _ => JsonSerializer.Deserialize(trimmed, type, new JsonSerializerOptions(JsonSerializerDefaults.Web)),
            };
            return true;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or JsonException or InvalidCastException or NotSupportedException)
        {
            problem = $"'{Shorten(text)}' is not a valid {TypeName(gate.Type)}: {e.Message}";
            return false;
        }
    }

    /// <summary>The gate's type as the page names it, such as <c>bool</c> or <c>int?</c>.</summary>
    public static string TypeName(Type type)
        => Nullable.GetUnderlyingType(type) is { } inner ? TypeName(inner) + "?" : type switch
        {
            _ when type == typeof(bool) => "bool",
            _ when type == typeof(string) => "string",
            _ when type == typeof(int) => "int",
            _ when type == typeof(long) => "long",
            _ when type == typeof(double) => "double",
            _ when type == typeof(decimal) => "decimal",
            _ => type.Name,
        };

    private static bool Boolean(string text) => text.ToLowerInvariant() switch
    {
        "true" or "yes" or "on" or "1" => true,
        "false" or "no" or "off" or "0" => false,
        _ => throw new FormatException("give true or false"),
    };

    private static bool IsNumber(Type type)
        => type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) || type == typeof(sbyte)
            || type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort) || type == typeof(decimal);

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Report;

/// <summary>Prints rows as a table and writes them as a JSON array.</summary>
internal static class ReportWriter
{
    private static readonly string[] Headers = ["case", "metric", "ours", "baseline", "baseline value", "ratio", "target", "met"];

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Table(IReadOnlyList<ReportRow> rows)
    {
        var cells = rows.Select(r => new[]
        {
            r.Case,
            r.Metric,
            $"{Number(r.Value)} {r.Unit}",
            r.Baseline,
            $"{Number(r.BaselineValue)} {r.Unit}",
            double.IsNaN(r.Ratio) ? "-" : r.Ratio.ToString("0.00", CultureInfo.InvariantCulture),
            r.Target?.Description ?? "-",
            r.Met switch { true => "yes", false => "NO", null => "-" },
        }).ToList();
        var widths = Headers.Select((h, i) => Math.Max(h.Length, cells.Count == 0 ? 0 : cells.Max(c => c[i].Length))).ToArray();
        var text = new StringBuilder();
        Line(text, Headers, widths);
        text.AppendLine(string.Join("-|-", widths.Select(w => new string('-', w))));
        foreach (var row in cells)
        {
            Line(text, row, widths);
        }

        return text.ToString();
    }

    public static async Task WriteJsonAsync(string path, IReadOnlyList<ReportRow> rows)
    {
        var objects = rows.Select(r => new Dictionary<string, object?>
        {
            ["case"] = r.Case,
            ["metric"] = r.Metric,
            ["value"] = Round(r.Value),
            ["unit"] = r.Unit,
            ["baseline"] = r.Baseline,
            ["baseline_value"] = Round(r.BaselineValue),
            ["ratio"] = double.IsNaN(r.Ratio) ? null : Math.Round(r.Ratio, 4),
            ["target"] = r.Target?.Description,
            ["met"] = r.Met,
        });
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        await using var stream = File.Create(path);
        await JsonSerializer.SerializeAsync(stream, objects, Json);
    }

    private static double Round(double value) => Math.Round(value, 3);

    private static string Number(double value) => Math.Abs(value) switch
    {
        >= 1000 => value.ToString("#,0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.###", CultureInfo.InvariantCulture),
    };

    private static void Line(StringBuilder text, string[] cells, int[] widths)
        => text.AppendLine(string.Join(" | ", cells.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
}

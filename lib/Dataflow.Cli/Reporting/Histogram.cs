using System.Globalization;
using System.Text;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Reporting;

/// <summary>A latency histogram as plain text lines: logarithmic buckets, a bar per bucket, counts beside.</summary>
internal static class Histogram
{
    /// <summary>Renders sorted latencies into at most <paramref name="buckets"/> lines of at most <paramref name="width"/> bar cells.</summary>
    /// <param name="sorted">Latencies in milliseconds, ascending.</param>
    /// <param name="buckets">The most buckets.</param>
    /// <param name="width">The widest bar.</param>
    /// <param name="unicode">Draw bars with block characters; otherwise with <c>#</c>.</param>
    public static IReadOnlyList<string> Render(double[] sorted, int buckets = 10, int width = 40, bool unicode = true)
    {
        if (sorted.Length == 0)
        {
            return [];
        }

        var min = Math.Max(sorted[0], 0.001);
        var max = Math.Max(sorted[^1], min);
        var edges = new double[buckets + 1];
        if (max / min < 1.0001)
        {
            buckets = 1;
            edges = [min, max];
        }
        else
        {
            // Logarithmic: latency spreads over orders of magnitude, and the tail is what matters.
            var ratio = Math.Pow(max / min, 1.0 / buckets);
            for (var i = 0; i <= buckets; i++)
            {
                edges[i] = min * Math.Pow(ratio, i);
            }

            edges[buckets] = max;
        }

        var counts = new int[buckets];
        foreach (var value in sorted)
        {
            var index = 0;
            while (index < buckets - 1 && value > edges[index + 1])
            {
                index++;
            }

            counts[index]++;
        }

        var peak = counts.Max();
        var labels = Enumerable.Range(0, buckets).Select(i => $"{Ms(edges[i])} - {Ms(edges[i + 1])} ms").ToArray();
        var labelWidth = labels.Max(l => l.Length);
        var lines = new List<string>(buckets);
        for (var i = 0; i < buckets; i++)
        {
            var cells = peak == 0 ? 0 : counts[i] * width / (double)peak;
            lines.Add($"{labels[i].PadLeft(labelWidth)} | {Bar(cells, unicode)} {counts[i].ToString(CultureInfo.InvariantCulture)}");
        }

        return lines;
    }

    private static string Bar(double cells, bool unicode)
    {
        var whole = (int)cells;
        if (!unicode)
        {
            return new string('#', whole == 0 && cells > 0 ? 1 : whole);
        }

        var text = new StringBuilder(new string('█', whole));
        var eighths = (int)Math.Round((cells - whole) * 8);
        if (eighths > 0)
        {
            text.Append("▏▎▍▌▋▊▉█"[eighths - 1]);
        }

        return text.ToString();
    }

    private static string Ms(double value) => value switch
    {
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("0.0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.00", CultureInfo.InvariantCulture),
    };
}

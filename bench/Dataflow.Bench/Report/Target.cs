using System.Globalization;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Report;

/// <summary>What a row must reach: a bound on the ratio to the baseline, or on our value itself.</summary>
internal sealed record Target(string Description, Func<double, double, bool> IsMet)
{
    public static Target RatioAtLeast(double bound) => new($"ratio >= {Format(bound)}", (_, ratio) => ratio >= bound);

    public static Target RatioAtMost(double bound) => new($"ratio <= {Format(bound)}", (_, ratio) => ratio <= bound);

    public static Target ValueAtMost(double bound, string unit) => new($"<= {Format(bound)} {unit}", (value, _) => value <= bound);

    private static string Format(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}

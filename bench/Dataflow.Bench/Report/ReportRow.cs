using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Report;

/// <summary>One measured figure beside its baseline, judged against its target when it has one.</summary>
internal sealed record ReportRow(string Case, string Metric, double Value, string Unit, string Baseline, double BaselineValue, Target? Target = null, double? PairedRatio = null)
{
    /// <summary>The metric that counts lost events; any non-zero value of ours fails the process.</summary>
    public const string LostEvents = "lost_events";

    /// <summary>
    /// Ours divided by the baseline's figure (NaN when the baseline is zero); for repeated measurements, the median of
    /// the per-repetition ratios.
    /// </summary>
    public double Ratio => PairedRatio ?? (BaselineValue == 0 ? (Value == 0 ? 1 : double.NaN) : Value / BaselineValue);

    /// <summary>Whether the target is met; null when the row has no target.</summary>
    public bool? Met => Target?.IsMet(Value, Ratio);
}

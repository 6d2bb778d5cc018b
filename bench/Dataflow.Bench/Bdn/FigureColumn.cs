using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Bdn;

/// <summary>A summary column that shows one of the <see cref="Figures"/> a benchmark recorded.</summary>
internal sealed class FigureColumn(string figure, string name) : IColumn
{
    public string Id => "Dataflow." + figure;

    public string ColumnName => name;

    public bool AlwaysShow => false;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"{name}: recorded by the benchmark itself, worst over the iterations";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        => Figures.Get(KeyOf(benchmarkCase), figure) is { } value ? value.ToString("0.##", CultureInfo.InvariantCulture) : "-";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => Figures.Get(KeyOf(benchmarkCase), figure) is null;

    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(c => Figures.Get(KeyOf(c), figure) is not null);

    private static string KeyOf(BenchmarkCase benchmarkCase)
        => Figures.Key(
            benchmarkCase.Descriptor.Type.Name,
            benchmarkCase.Descriptor.WorkloadMethod.Name,
            [.. benchmarkCase.Parameters.Items.Select(p => (p.Name, p.Value))]);
}

using Dataflow.Bench.Report;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Cases;

/// <summary>One case of the report: runs ours beside its baseline in this process and returns the judged rows.</summary>
internal interface IBenchCase
{
    string Name { get; }

    Task<IReadOnlyList<ReportRow>> RunAsync(BenchSize size);
}

using System.Globalization;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Spectre.Console;

namespace Dataflow.Cli.Reporting;

/// <summary>What a batch did, for the summary.</summary>
internal sealed record BatchReport(
    string Source,
    RunStatistics Stats,
    string DatabasePath,
    string SessionId,
    long EventsWritten,
    long EventsLost,
    bool Interrupted)
{
    /// <summary>For a durable batch: how many runs were resumed, finished earlier, rerun; null otherwise.</summary>
    public string? Durability { get; init; }
}

/// <summary>Renders the end-of-batch summary: runs by state, latency percentiles, slowest node types, failures, events, histogram.</summary>
internal static class Summary
{
    public static void Write(CliConsole console, BatchReport report)
    {
        var ansi = console.Ansi;
        var stats = report.Stats;
        var border = console.IsTerminal ? TableBorder.Rounded : TableBorder.Ascii;
        ansi.WriteLine();
        ansi.MarkupLine(Invariant(
            $"[bold]Summary[/]: {TerminalText.Cell(report.Source)}, {stats.Ended} runs in {stats.Elapsed.TotalSeconds:0.00}s ({stats.Rate:0.0} runs/s){(report.Interrupted ? ", [yellow]interrupted[/]" : string.Empty)}"));

        var states = new Table().Border(border).AddColumns("state", "runs");
        states.Columns[1].RightAligned();
        states.AddRow("[green]Done[/]", N(stats.Done));
        states.AddRow("[red]Failed[/]", N(stats.Failed));
        states.AddRow("[yellow]Cancelled[/]", N(stats.Cancelled));
        states.AddRow("[bold]Total[/]", N(stats.Ended));
        if (stats.RejectedLines > 0)
        {
            states.AddRow("[red]Rejected input lines[/]", N(stats.RejectedLines));
        }

        var latencies = stats.Latencies();
        var latency = new Table().Border(border).Title("run latency, ms").AddColumns("p50", "p95", "p99", "max");
        latency.AddRow(
            Ms(RunStatistics.Percentile(latencies, 50)),
            Ms(RunStatistics.Percentile(latencies, 95)),
            Ms(RunStatistics.Percentile(latencies, 99)),
            Ms(latencies.Length == 0 ? 0 : latencies[^1]));

        ansi.Write(states);
        ansi.Write(latency);

        WriteTimings(ansi, border, "slowest node types", "node", "executions", stats.Nodes());
        WriteTimings(ansi, border, "dependency timings", "dependency", "computed", stats.Dependencies());

        var errors = stats.TopErrors(5);
        if (errors.Count > 0)
        {
            var failures = new Table().Border(border).Title("failures by node and exception").AddColumns("runs", "node", "example");
            failures.Columns[0].RightAligned();
            foreach (var group in errors)
            {
                failures.AddRow(N(group.Count), TerminalText.Cell(group.Node), TerminalText.Cell(group.Example));
            }

            ansi.Write(failures);
        }

        if (report.Durability is { } durability)
        {
            ansi.MarkupLine(TerminalText.Cell(durability));
        }

        ansi.MarkupLine(Invariant(
            $"events written: {report.EventsWritten}{(report.EventsLost > 0 ? $" ([red]{report.EventsLost} not written[/])" : string.Empty)} to {TerminalText.Cell(report.DatabasePath)} (session {TerminalText.Cell(report.SessionId)})"));

        var histogram = Histogram.Render(latencies, unicode: console.IsTerminal);
        if (histogram.Count > 0)
        {
            ansi.WriteLine();
            ansi.MarkupLine("[bold]latency histogram[/] (ms, logarithmic buckets)");
            foreach (var line in histogram)
            {
                ansi.WriteLine(line);
            }
        }
    }

    private static void WriteTimings(IAnsiConsole ansi, TableBorder border, string title, string name, string count, IReadOnlyList<NodeStats> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var table = new Table().Border(border).Title(title).AddColumns(name, count, "mean ms", "p99 ms", "max ms");
        foreach (var column in table.Columns.Skip(1))
        {
            column.RightAligned();
        }

        foreach (var row in rows.Take(5))
        {
            table.AddRow(TerminalText.Cell(row.Node), N(row.Count), Ms(row.MeanMs), Ms(row.P99Ms), Ms(row.MaxMs));
        }

        ansi.Write(table);
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Ms(double value) => value.ToString(value >= 100 ? "0" : "0.0", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

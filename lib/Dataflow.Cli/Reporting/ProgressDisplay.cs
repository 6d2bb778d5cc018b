using System.Globalization;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Dataflow.Cli.Reporting;

/// <summary>
/// Shows a batch's progress until it ends: a live Spectre.Console table on a terminal, or a plain line every
/// interval when stdout is redirected (no escape codes, nothing redrawn).
/// </summary>
internal static class ProgressDisplay
{
    /// <param name="console">Where to show it.</param>
    /// <param name="stats">The batch's counters.</param>
    /// <param name="interval">How often a plain line is written when stdout is redirected.</param>
    /// <param name="finished">Completes when the batch ends.</param>
    /// <param name="status">A warning to show beside the counters while it is not null, such as a stalled store write.</param>
    public static async Task ShowAsync(CliConsole console, RunStatistics stats, TimeSpan interval, Task finished, Func<string?> status)
    {
        if (console.IsTerminal)
        {
            await console.Ansi.Live(Render(stats, status())).AutoClear(false).StartAsync(async context =>
            {
                while (!finished.IsCompleted)
                {
                    await Task.WhenAny(finished, Task.Delay(TimeSpan.FromMilliseconds(100))).ConfigureAwait(false);
                    context.UpdateTarget(Render(stats, status()));
                }
            }).ConfigureAwait(false);
            return;
        }

        while (!finished.IsCompleted)
        {
            if (await Task.WhenAny(finished, Task.Delay(interval)).ConfigureAwait(false) == finished)
            {
                break;
            }

            await console.Output.WriteLineAsync(Line(stats, status())).ConfigureAwait(false);
            await console.Output.FlushAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The plain progress line.</summary>
    public static string Line(RunStatistics stats, string? status = null)
        => string.Create(
            CultureInfo.InvariantCulture,
            $"progress: {stats.Done} done, {stats.Failed} failed, {stats.Cancelled} cancelled, {stats.InFlight} in flight, {stats.Rate:0.0} runs/s, {stats.Elapsed.TotalSeconds:0.0}s{(status is null ? string.Empty : "; " + status)}");

    private static IRenderable Render(RunStatistics stats, string? status)
    {
        var grid = new Table().Border(TableBorder.Rounded).Title("[bold]dataflow run[/]");
        if (status is not null)
        {
            grid.Caption("[yellow]" + Markup.Escape(status) + "[/]");
        }

        grid.AddColumns("[green]done[/]", "[red]failed[/]", "[yellow]cancelled[/]", "in flight", "rate", "elapsed");
        grid.AddRow(
            stats.Done.ToString(CultureInfo.InvariantCulture),
            stats.Failed.ToString(CultureInfo.InvariantCulture),
            stats.Cancelled.ToString(CultureInfo.InvariantCulture),
            stats.InFlight.ToString(CultureInfo.InvariantCulture),
            stats.Rate.ToString("0.0", CultureInfo.InvariantCulture) + "/s",
            stats.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s");
        return grid;
    }
}

using System.Globalization;
using System.Text.Json;
using Dataflow.Checkpoints;
using Dataflow.Cli.History;
using Spectre.Console;

namespace Dataflow.Cli.Commands;

/// <summary>
/// What <c>show</c> writes under a durable run that fanned out or ran a subgraph: each child's latest checkpoint, one row
/// per child (the first <see cref="Shown"/> of each fan-out). <c>dataflow show &lt;child id&gt;</c> shows one child whole.
/// </summary>
internal static class ChildCheckpoints
{
    /// <summary>The most children listed per fan-out.</summary>
    public const int Shown = 20;

    public static async Task WriteAsync(CliConsole console, IHistoryReader store, string runId, IReadOnlyList<RunCheckpoint> checkpoints, CancellationToken cancellationToken)
    {
        foreach (var waiting in checkpoints.Where(c => c is { State: CheckpointState.AwaitingChildren, Children: not null }))
        {
            var (first, count) = Numbers(waiting.Children!);
            var table = new Table().Border(console.IsTerminal ? TableBorder.Rounded : TableBorder.Ascii)
                .Title($"children of run {TerminalText.Cell(runId)} at step {waiting.Step.ToString(CultureInfo.InvariantCulture)} ({count.ToString(CultureInfo.InvariantCulture)})")
                .AddColumns("child", "state", "step", "node", "at", "error");
            for (var n = first; n < first + Math.Min(count, Shown); n++)
            {
                var id = string.Create(CultureInfo.InvariantCulture, $"{runId}/{n}");
                var child = await store.RunCheckpointsAsync(id, cancellationToken).ConfigureAwait(false);
                if (child.Count == 0)
                {
                    table.AddRow(TerminalText.Cell(id), "not started", string.Empty, string.Empty, string.Empty, string.Empty);
                    continue;
                }

                var last = child[^1];
                table.AddRow(
                    TerminalText.Cell(id),
                    last.State.ToString(),
                    last.Step.ToString(CultureInfo.InvariantCulture),
                    TerminalText.Cell(last.NodeType),
                    last.Timestamp.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture),
                    TerminalText.Cell(last.Error ?? string.Empty));
            }

            if (count > Shown)
            {
                table.Caption($"and {(count - Shown).ToString(CultureInfo.InvariantCulture)} more; `dataflow show {TerminalText.Cell(runId)}/<n>` shows one");
            }

            console.Ansi.Write(table);
        }
    }

    /// <summary>The first child number and the item count of a stored fan-out (<see cref="RunCheckpoint.Children"/>).</summary>
    private static (int First, int Count) Numbers(string children)
    {
        using var document = JsonDocument.Parse(children);
        return (document.RootElement.GetProperty("first").GetInt32(), document.RootElement.GetProperty("items").GetArrayLength());
    }
}

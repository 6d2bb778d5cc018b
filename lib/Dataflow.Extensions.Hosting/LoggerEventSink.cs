using System.Collections;
using System.Globalization;
using Dataflow.Events;
using Microsoft.Extensions.Logging;

namespace Dataflow.Extensions.Hosting;

/// <summary>
/// Writes lifecycle events as structured log records: one message template per event kind, and every field of the
/// event as a property, whatever the template shows. The hub filters by the sink's policy before it gets here.
/// </summary>
internal sealed class LoggerEventSink(ILogger logger) : IEventSink
{
    public const string Category = "Dataflow.Runs";

    private static readonly EventId[] EventIds =
    [
        new(1, "RunStarted"), new(2, "RunTransition"), new(3, "RunDone"), new(4, "RunFailed"),
        new(5, "RunCancelled"), new(6, "RunAtGate"), new(7, "RunError"),
    ];

    public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(graphEvent);
        var level = LevelOf(graphEvent.Kind);
        if (logger.IsEnabled(level))
        {
            logger.Log(level, EventIds[(int)graphEvent.Kind], new EventRecord(graphEvent), null, static (record, _) => record.ToString());
        }

        return ValueTask.CompletedTask;
    }

    public static LogLevel LevelOf(EventKind kind) => kind switch
    {
        EventKind.Transition => LogLevel.Debug,
        EventKind.Cancel => LogLevel.Warning,
        EventKind.Fail or EventKind.Error => LogLevel.Error,
        _ => LogLevel.Information,
    };

    /// <summary>The state of one record: its properties in a fixed order, then the template, as the logging abstractions expect.</summary>
    private sealed class EventRecord(GraphEvent e) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private static readonly string[] Names = ["RunId", "Kind", "Graph", "Node", "NextNode", "DurationMs", "Error", "Sequence", "{OriginalFormat}"];

        public int Count => Names.Length;

        public KeyValuePair<string, object?> this[int index] => new(Names[index], index switch
        {
            0 => e.RunId,
            1 => GraphEvent.KindName(e.Kind),
            2 => e.Graph,
            3 => e.Node,
            4 => e.NextNode,
            5 => e.DurationMs,
            6 => e.Error,
            7 => e.Sequence,
            8 => Template(e.Kind),
            _ => throw new ArgumentOutOfRangeException(nameof(index), index, $"A log record has {Names.Length} properties."),
        });

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            for (var i = 0; i < Names.Length; i++)
            {
                yield return this[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString()
        {
            var duration = e.DurationMs?.ToString("0.0", CultureInfo.InvariantCulture);
            return e.Kind switch
            {
                EventKind.Start => $"Run {e.RunId} started at {e.Node}",
                EventKind.Transition => $"Run {e.RunId} moved from {e.Node} to {e.NextNode}",
                EventKind.Complete => $"Run {e.RunId} done at {e.Node} in {duration} ms",
                EventKind.Fail => $"Run {e.RunId} failed at {e.Node} after {duration} ms: {e.Error}",
                EventKind.Cancel => $"Run {e.RunId} cancelled at {e.Node} after {duration} ms: {e.Error}",
                EventKind.Gate => $"Run {e.RunId} waits at a gate of {e.Node}",
                _ => $"Run {e.RunId} reported an error: {e.Error}",
            };
        }

        private static string Template(EventKind kind) => kind switch
        {
            EventKind.Start => "Run {RunId} started at {Node}",
            EventKind.Transition => "Run {RunId} moved from {Node} to {NextNode}",
            EventKind.Complete => "Run {RunId} done at {Node} in {DurationMs} ms",
            EventKind.Fail => "Run {RunId} failed at {Node} after {DurationMs} ms: {Error}",
            EventKind.Cancel => "Run {RunId} cancelled at {Node} after {DurationMs} ms: {Error}",
            EventKind.Gate => "Run {RunId} waits at a gate of {Node}",
            _ => "Run {RunId} reported an error: {Error}",
        };
    }
}

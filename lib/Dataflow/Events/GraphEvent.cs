using System.Globalization;

namespace Dataflow.Events;

/// <summary>
/// A structured lifecycle record of a run: what happened (<see cref="Kind"/>), a line for people
/// (<see cref="Content"/>, such as <c>g1 StressStart -> Middle</c>) and machine-readable <see cref="Metadata"/>.
/// Immutable; safe to share between sinks.
/// </summary>
public sealed class GraphEvent
{
    private IReadOnlyDictionary<string, object?>? _metadata;

    /// <summary>Creates an event.</summary>
    /// <param name="runId">The run the event belongs to.</param>
    /// <param name="kind">What happened.</param>
    /// <param name="content">A human-readable line.</param>
    /// <param name="timestamp">When it happened.</param>
    /// <param name="sequence">The event's position among the events its run emitted, from 1; 0 for an event outside a run's stream.</param>
    public GraphEvent(string runId, EventKind kind, string content, DateTimeOffset timestamp, long sequence)
    {
        ArgumentNullException.ThrowIfNull(runId);
        ArgumentNullException.ThrowIfNull(content);
        RunId = runId;
        Kind = kind;
        Content = content;
        Timestamp = timestamp;
        Sequence = sequence;
    }

    /// <summary>The run the event belongs to.</summary>
    public string RunId { get; }

    /// <summary>What happened.</summary>
    public EventKind Kind { get; }

    /// <summary>A human-readable line, such as <c>g1 started</c> or <c>g1 failed: InvalidOperationException: boom</c>.</summary>
    public string Content { get; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The event's position among the events its run emitted, from 1; 0 for an event outside a run's stream.</summary>
    public long Sequence { get; }

    /// <summary>The name of the graph's start node, when the event belongs to a run.</summary>
    public string? Graph { get; init; }

    /// <summary>The node the run was at: the source of a transition, the node that failed, the terminal node.</summary>
    public string? Node { get; init; }

    /// <summary>The node a transition leads to.</summary>
    public string? NextNode { get; init; }

    /// <summary>The run's duration so far in milliseconds, for complete, fail and cancel events.</summary>
    public double? DurationMs { get; init; }

    /// <summary>The error as <c>ExceptionType: message</c>, for fail, cancel, error and retry events, and for a transition to a recovery node.</summary>
    public string? Error { get; init; }

    /// <summary>Further fields, such as a gate's id; merged into <see cref="Metadata"/>.</summary>
    public IReadOnlyDictionary<string, object?>? Extra { get; init; }

    /// <summary>
    /// The structured form: <c>type</c> = <c>lifecycle</c>, <c>event</c> (the kind in lower case), <c>run_id</c>,
    /// <c>seq</c>, and where present <c>graph</c>, <c>node</c>, <c>from</c>/<c>to</c> (transitions), <c>duration_ms</c>,
    /// <c>error</c> and the extra fields. Built on first use.
    /// </summary>
    public IReadOnlyDictionary<string, object?> Metadata => _metadata ??= BuildMetadata();

    /// <summary>The kind's name as it appears in metadata and storage: <c>start</c>, <c>transition</c>, ….</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>The lower-case name.</returns>
    public static string KindName(EventKind kind) => kind switch
    {
        EventKind.Start => "start",
        EventKind.Transition => "transition",
        EventKind.Complete => "complete",
        EventKind.Fail => "fail",
        EventKind.Cancel => "cancel",
        EventKind.Gate => "gate",
        EventKind.Error => "error",
        EventKind.Retry => "retry",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <inheritdoc/>
    public override string ToString() => Content;

    private Dictionary<string, object?> BuildMetadata()
    {
        var metadata = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["type"] = "lifecycle",
            ["event"] = KindName(Kind),
            ["run_id"] = RunId,
            ["seq"] = Sequence,
        };
        if (Graph is not null)
        {
            metadata["graph"] = Graph;
        }

        if (Kind == EventKind.Transition)
        {
            metadata["from"] = Node;
            metadata["to"] = NextNode;
        }
        else if (Node is not null)
        {
            metadata["node"] = Node;
        }

        if (DurationMs is { } duration)
        {
            metadata["duration_ms"] = Math.Round(duration, 3);
        }

        if (Error is not null)
        {
            metadata["error"] = Error;
        }

        if (Extra is not null)
        {
            foreach (var (key, value) in Extra)
            {
                metadata.TryAdd(key, value);
            }
        }

        return metadata;
    }
}

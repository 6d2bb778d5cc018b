namespace Dataflow.Events.Channels;

/// <summary>One write to a channel, as kept in its buffer.</summary>
/// <param name="Timestamp">When it was written.</param>
/// <param name="Channel">The channel's name.</param>
/// <param name="Label">An optional label, rendered as <c>[channel:label]</c>.</param>
/// <param name="Content">The text.</param>
/// <param name="Metadata">Structured fields, such as an event's metadata.</param>
public sealed record ChannelEntry(DateTimeOffset Timestamp, string Channel, string? Label, string Content, IReadOnlyDictionary<string, object?>? Metadata)
{
    /// <summary>The entry's default rendering: <c>[channel] content</c>, or <c>[channel:label] content</c>.</summary>
    /// <returns>The line, without a line break.</returns>
    public string Render() => Label is null ? $"[{Channel}] {Content}" : $"[{Channel}:{Label}] {Content}";
}

namespace Dataflow.Events;

/// <summary>How a sink is attached to an <see cref="EventHub"/>; validated and copied when it is added.</summary>
public sealed class SinkOptions
{
    /// <summary>A name for reports, error events and telemetry.</summary>
    /// <value>The default value is the sink's type name.</value>
    public string? Name { get; set; }

    /// <summary>The sink's own filter, applied on top of each run's policy.</summary>
    /// <value>The default value is <see cref="OutputPolicy.Verbose"/>: whatever the runs emit.</value>
    public OutputPolicy Policy { get; set; } = OutputPolicy.Verbose;

    /// <summary>
    /// How many events may wait for the sink. A lossless sink that is this far behind slows the producers;
    /// a lossy sink drops its oldest waiting event instead.
    /// </summary>
    /// <value>The default value is 1024.</value>
    public int Capacity { get; set; } = 1024;

    /// <summary>
    /// Whether the sink may lose events rather than slow the producers: it keeps the newest
    /// <see cref="Capacity"/> events and counts the rest in <see cref="SinkRegistration.Dropped"/>.
    /// </summary>
    /// <value>The default value is <see langword="false"/>: lossless, with backpressure.</value>
    public bool Lossy { get; set; }

    internal SinkOptions Validated(IEventSink sink)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Capacity, 1, nameof(Capacity));
        if (!Enum.IsDefined(Policy))
        {
            throw new ArgumentOutOfRangeException(nameof(Policy), Policy, "Not an OutputPolicy.");
        }

        return new SinkOptions { Name = Name ?? sink.GetType().Name, Policy = Policy, Capacity = Capacity, Lossy = Lossy };
    }
}

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

    /// <summary>
    /// How long the hub waits for the sink to take one event before it gives up: it then cancels the token given to
    /// <see cref="IEventSink.WriteAsync"/> and counts the event as a failure of the sink. A sink that ignores the
    /// token is still awaited, so that its events stay in order.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: the hub waits as long as the sink takes.</value>
    public TimeSpan? WriteTimeout { get; set; }

    /// <summary>Validates the options, reporting every problem at once, into a copy the hub keeps.</summary>
    internal SinkOptions Validated(string defaultName)
    {
        var copy = new SinkOptions { Name = Name ?? defaultName, Policy = Policy, Capacity = Capacity, Lossy = Lossy, WriteTimeout = WriteTimeout };
        new OptionErrors(nameof(SinkOptions))
            .Require(!string.IsNullOrWhiteSpace(copy.Name), "Name is empty; give the sink a name, or leave it null for the default.")
            .Require(Enum.IsDefined(copy.Policy), $"Policy is {(int)copy.Policy}, which is not an OutputPolicy.")
            .Require(copy.Capacity >= 1, $"Capacity is {copy.Capacity}; it must be 1 or more.")
            .Require(copy.WriteTimeout is null || (copy.WriteTimeout > TimeSpan.Zero && copy.WriteTimeout.Value.TotalMilliseconds <= int.MaxValue), $"WriteTimeout is {copy.WriteTimeout}; it must be positive and at most {TimeSpan.FromMilliseconds(int.MaxValue)}, or null.")
            .ThrowIfAny();
        return copy;
    }
}

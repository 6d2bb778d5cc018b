using Dataflow.Storage;

namespace Dataflow.Events.Channels;

/// <summary>How a channel buffers, records and renders its writes; copied when the channel is registered.</summary>
public sealed class OutputChannelOptions
{
    /// <summary>How many recent entries the channel keeps in memory; the oldest goes first.</summary>
    /// <value>The default value is 500.</value>
    public int Capacity { get; set; } = 500;

    /// <summary>Whether writes are rendered to the router's output. A hidden channel still buffers and records.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Visible { get; set; } = true;

    /// <summary>Where writes are recorded for later search, such as a SQLite session store; none when null.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public IEntryStore? Store { get; set; }

    /// <summary>The mode recorded with each entry in the store.</summary>
    /// <value>The default value is <c>GRAPH</c>.</value>
    public string Mode { get; set; } = "GRAPH";

    /// <summary>Renders an entry for the output; <see cref="ChannelEntry.Render"/> when null.</summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Func<ChannelEntry, string>? Formatter { get; set; }

    internal OutputChannelOptions Validated()
    {
        var copy = (OutputChannelOptions)MemberwiseClone();
        new OptionErrors(nameof(OutputChannelOptions))
            .Require(copy.Capacity >= 1, $"Capacity is {copy.Capacity}; it must be 1 or more.")
            .Require(!string.IsNullOrWhiteSpace(copy.Mode), "Mode is empty; give the mode recorded with each entry, such as GRAPH.")
            .ThrowIfAny();
        return copy;
    }
}

using System.Collections.Concurrent;
using System.Globalization;

namespace Dataflow.Events.Channels;

/// <summary>
/// Named output channels (such as <c>graph</c> and <c>debug</c>): register them, write to them by name, and
/// attach them to an <see cref="EventHub"/> as sinks. A write to an unknown channel does not throw: it is
/// counted in <see cref="UnknownChannelWrites"/> and reported on the <c>debug</c> channel when there is one.
/// With a debug log file, every write to every channel is appended to it with its time and channel.
/// </summary>
public sealed class ChannelRouter : IAsyncDisposable
{
    /// <summary>The name of the channel that reports the router's own problems.</summary>
    public const string DebugChannel = "debug";

    private readonly ConcurrentDictionary<string, OutputChannel> _channels = new(StringComparer.Ordinal);
    private readonly TextWriter? _output;
    private readonly Lock _outputGate = new();
    private readonly SemaphoreSlim _logGate = new(1, 1);
    private readonly StreamWriter? _log;
    private long _unknownWrites;

    /// <summary>Creates a router.</summary>
    /// <param name="output">Where visible channels render; nothing is rendered when null.</param>
    /// <param name="debugLogPath">A file that records every write with its time and channel; appended to, created with its folder as needed.</param>
    /// <param name="timeProvider">The clock for entry times; the system clock when null.</param>
    public ChannelRouter(TextWriter? output = null, string? debugLogPath = null, TimeProvider? timeProvider = null)
    {
        _output = output;
        TimeProvider = timeProvider ?? TimeProvider.System;
        if (debugLogPath is not null)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(debugLogPath));
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }

            _log = new StreamWriter(new FileStream(debugLogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 4096, useAsync: true));
        }
    }

    /// <summary>The registered channels.</summary>
    public IReadOnlyCollection<OutputChannel> Channels => [.. _channels.Values];

    /// <summary>Writes addressed to a channel that is not registered.</summary>
    public long UnknownChannelWrites => Interlocked.Read(ref _unknownWrites);

    internal TimeProvider TimeProvider { get; }

    /// <summary>Registers a channel.</summary>
    /// <param name="name">The channel's name, unique in this router.</param>
    /// <param name="options">Its buffer, visibility, store and formatter; copied.</param>
    /// <returns>The channel.</returns>
    /// <exception cref="ArgumentException">A channel of that name is already registered.</exception>
    public OutputChannel Register(string name, OutputChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var channel = new OutputChannel(this, name, (options ?? new OutputChannelOptions()).Validated());
        return _channels.TryAdd(name, channel)
            ? channel
            : throw new ArgumentException($"A channel named '{name}' is already registered.", nameof(name));
    }

    /// <summary>Finds a channel.</summary>
    /// <param name="name">The channel's name.</param>
    /// <returns>The channel, or <see langword="null"/> when none has that name.</returns>
    public OutputChannel? Find(string name) => _channels.GetValueOrDefault(name);

    /// <summary>
    /// Writes to a channel by name. An unknown name is counted and reported on the debug channel; it never throws.
    /// </summary>
    /// <param name="channel">The channel's name.</param>
    /// <param name="content">The text.</param>
    /// <param name="label">An optional label.</param>
    /// <param name="metadata">Structured fields for the store.</param>
    /// <param name="cancellationToken">Stops waiting for the store's queue.</param>
    /// <returns><see langword="true"/> when the channel exists and took the write.</returns>
    public async ValueTask<bool> WriteAsync(string channel, string content, string? label = null, IReadOnlyDictionary<string, object?>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (_channels.TryGetValue(channel, out var target))
        {
            await target.WriteAsync(content, label, metadata, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }

        Interlocked.Increment(ref _unknownWrites);
        var report = $"write to unknown channel '{channel}': {content}";
        if (channel != DebugChannel && _channels.TryGetValue(DebugChannel, out var debug))
        {
            await debug.WriteAsync(report, "router", cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await LogAsync(new ChannelEntry(TimeProvider.GetUtcNow(), DebugChannel, "router", report, null), cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>Attaches a channel to a hub as a sink; dispose the registration to detach it.</summary>
    /// <param name="hub">The hub.</param>
    /// <param name="channel">The channel's name.</param>
    /// <param name="options">The sink's filter, capacity and loss mode; its name defaults to the channel's.</param>
    /// <returns>The sink registration.</returns>
    /// <exception cref="ArgumentException">No channel of that name is registered.</exception>
    public SinkRegistration Attach(EventHub hub, string channel, SinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(hub);
        var target = Find(channel) ?? throw new ArgumentException($"No channel named '{channel}' is registered.", nameof(channel));
        return hub.AddSink(target, options, channel);
    }

    /// <summary>Closes the debug log file.</summary>
    /// <returns>A task that completes when the log is flushed and closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_log is not null)
        {
            await _logGate.WaitAsync().ConfigureAwait(false);
            try
            {
                await _log.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                _logGate.Release();
            }
        }
    }

    internal void Render(string line)
    {
        if (_output is null)
        {
            return;
        }

        lock (_outputGate)
        {
            _output.WriteLine(line);
        }
    }

    internal async ValueTask LogAsync(ChannelEntry entry, CancellationToken cancellationToken)
    {
        if (_log is null)
        {
            return;
        }

        var line = string.Create(CultureInfo.InvariantCulture, $"{entry.Timestamp.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} {entry.Render()}");
        await _logGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _log.WriteLineAsync(line).ConfigureAwait(false);
            await _log.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _logGate.Release();
        }
    }
}

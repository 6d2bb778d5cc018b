using Dataflow.Storage;

namespace Dataflow.Events.Channels;

/// <summary>
/// A named channel: a bounded buffer of recent entries, an optional store to record into, and optional
/// rendering to its router's output. It is also an <see cref="IEventSink"/>, so it can be attached to an
/// <see cref="EventHub"/> (see <see cref="ChannelRouter.Attach"/>). Thread-safe.
/// </summary>
public sealed class OutputChannel : IEventSink
{
    private readonly ChannelRouter _router;
    private readonly OutputChannelOptions _options;
    private readonly Queue<ChannelEntry> _buffer = new();
    private readonly Lock _gate = new();
    private long _written;

    internal OutputChannel(ChannelRouter router, string name, OutputChannelOptions options)
    {
        _router = router;
        Name = name;
        _options = options;
    }

    /// <summary>The channel's name.</summary>
    public string Name { get; }

    /// <summary>Whether writes are rendered to the router's output.</summary>
    public bool Visible => _options.Visible;

    /// <summary>How many recent entries the channel keeps.</summary>
    public int Capacity => _options.Capacity;

    /// <summary>The store the channel records into, if any.</summary>
    public IEntryStore? Store => _options.Store;

    /// <summary>Writes to the channel since it was registered.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>The most recent entries, oldest first.</summary>
    public IReadOnlyList<ChannelEntry> Buffer
    {
        get
        {
            lock (_gate)
            {
                return [.. _buffer];
            }
        }
    }

    /// <summary>Empties the buffer.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _buffer.Clear();
        }
    }

    /// <summary>Writes one entry: buffers it, records it in the store, renders it when visible, and logs it.</summary>
    /// <param name="content">The text.</param>
    /// <param name="label">An optional label, rendered as <c>[channel:label]</c>.</param>
    /// <param name="metadata">Structured fields for the store.</param>
    /// <param name="direction"><c>output</c> or <c>input</c>, as recorded in the store.</param>
    /// <param name="cancellationToken">Stops waiting for the store's queue.</param>
    /// <returns>A task that completes when the entry is buffered, queued in the store and rendered.</returns>
    public async ValueTask WriteAsync(string content, string? label = null, IReadOnlyDictionary<string, object?>? metadata = null, string direction = "output", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var entry = new ChannelEntry(_router.TimeProvider.GetUtcNow(), Name, label, content, metadata);
        lock (_gate)
        {
            _buffer.Enqueue(entry);
            while (_buffer.Count > _options.Capacity)
            {
                _buffer.Dequeue();
            }
        }

        Interlocked.Increment(ref _written);
        if (_options.Store is { } store)
        {
            await store.RecordAsync(new StoreRecord(entry.Timestamp, _options.Mode, Name, direction, content, metadata), cancellationToken).ConfigureAwait(false);
        }

        if (_options.Visible)
        {
            _router.Render(_options.Formatter is { } format ? format(entry) : entry.Render());
        }

        await _router.LogAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes an event's content, with its metadata, as an entry labelled with nothing.</summary>
    /// <param name="graphEvent">The event.</param>
    /// <param name="cancellationToken">Stops waiting for the store's queue.</param>
    /// <returns>A task that completes when the entry is written.</returns>
    ValueTask IEventSink.WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
        => WriteAsync(graphEvent.Content, null, graphEvent.Metadata, "output", cancellationToken);
}

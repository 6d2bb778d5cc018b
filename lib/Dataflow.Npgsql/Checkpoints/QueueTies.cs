using System.Collections.Concurrent;

namespace Dataflow.Npgsql.Checkpoints;

/// <summary>
/// Which queue item each run of a serving worker is for, in the worker's memory: a run is tied when its start
/// checkpoint names its item (<see cref="QueueItemScope"/>) or when the worker takes an item over and resumes its run,
/// and untied when its final checkpoint is committed or the worker stops serving. The checkpoint writer fences each
/// checkpoint, and finishes each item, by the item's primary key instead of searching the queue by run id. Thread-safe:
/// the worker ties, the writer's loop reads and unties.
/// </summary>
internal sealed class QueueTies
{
    private readonly ConcurrentDictionary<string, long> _items = new(StringComparer.Ordinal);

    /// <summary>How many runs are tied (for tests).</summary>
    public int Count => _items.Count;

    public void Tie(string runId, long item) => _items[runId] = item;

    public long? ItemOf(string runId) => _items.TryGetValue(runId, out var item) ? item : null;

    public void Untie(string runId) => _items.TryRemove(runId, out _);

    public void Clear() => _items.Clear();
}

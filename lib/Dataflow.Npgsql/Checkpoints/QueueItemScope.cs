namespace Dataflow.Npgsql.Checkpoints;

/// <summary>
/// Ties a worker's queue item to the run it submits, in the transaction that commits the run's start checkpoint: the
/// worker opens a scope around <c>GraphEngine.SubmitAsync</c>; the engine saves the start checkpoint on that call's own
/// flow, and <see cref="PostgresCheckpointStore"/> takes the scope's item once, for that checkpoint only. So no crash
/// can leave a started run that its item does not name (the next worker would start it again instead of resuming it).
/// </summary>
/// <remarks>
/// The scope is an <see cref="AsyncLocal{T}"/>, which flows into whatever the submit starts (a block's processing task,
/// say); a slot that is taken once keeps those from claiming the item for another run's start checkpoint.
/// </remarks>
internal static class QueueItemScope
{
    private static readonly AsyncLocal<Slot?> Current = new();

    /// <summary>Sets the item for the rest of the calling async method (an async method's changes do not reach its caller).</summary>
    public static void Enter(long item) => Current.Value = new Slot(item);

    /// <summary>The current scope's item, the first time it is asked for; null after that, or outside a scope.</summary>
    public static long? Take() => Current.Value is { } slot && Interlocked.Exchange(ref slot.Taken, 1) == 0 ? slot.Item : null;

    private sealed class Slot(long item)
    {
        public readonly long Item = item;
        public int Taken;
    }
}

namespace Dataflow.Engine;

/// <summary>A count of free slots taken by compare-and-swap: the lock-free fast path of admission and of a step's node slots.</summary>
internal static class Slots
{
    /// <summary>Takes one slot from <paramref name="free"/> if it holds any; never waits.</summary>
    public static bool TryTake(ref int free)
    {
        var seen = Volatile.Read(ref free);
        while (seen > 0)
        {
            var before = Interlocked.CompareExchange(ref free, seen - 1, seen);
            if (before == seen)
            {
                return true;
            }

            seen = before;
        }

        return false;
    }
}

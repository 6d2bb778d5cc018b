namespace Dataflow.Engine;

/// <summary>How many runs a batch started, and how each ended.</summary>
public sealed class BatchResult
{
    internal BatchResult(long submitted, long done, long failed, long cancelled)
    {
        Submitted = submitted;
        Done = done;
        Failed = failed;
        Cancelled = cancelled;
    }

    /// <summary>The runs started: one per start node read.</summary>
    public long Submitted { get; }

    /// <summary>The runs that ended <see cref="RunState.Done"/>.</summary>
    public long Done { get; }

    /// <summary>The runs that ended <see cref="RunState.Failed"/>.</summary>
    public long Failed { get; }

    /// <summary>The runs that ended <see cref="RunState.Cancelled"/>.</summary>
    public long Cancelled { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Submitted} runs: {Done} done, {Failed} failed, {Cancelled} cancelled";
}

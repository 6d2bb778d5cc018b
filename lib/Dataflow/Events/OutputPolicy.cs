namespace Dataflow.Events;

/// <summary>
/// Which lifecycle events a run emits, and which a sink accepts. Each level admits a subset of the one above.
/// </summary>
public enum OutputPolicy
{
    /// <summary>Nothing.</summary>
    Silent = 0,

    /// <summary>Fail, cancel, gate and error events.</summary>
    Quiet = 1,

    /// <summary>Start, complete, fail, cancel, gate and error events.</summary>
    Normal = 2,

    /// <summary>Everything, transitions included.</summary>
    Verbose = 3,
}

namespace Dataflow.Events;

/// <summary>The kinds of lifecycle event.</summary>
public enum EventKind
{
    /// <summary>A run started.</summary>
    Start,

    /// <summary>A run moved from one node to the next.</summary>
    Transition,

    /// <summary>A run reached a terminal node.</summary>
    Complete,

    /// <summary>A run failed.</summary>
    Fail,

    /// <summary>A run was cancelled.</summary>
    Cancel,

    /// <summary>A run is waiting at a gate for a value from outside.</summary>
    Gate,

    /// <summary>Something went wrong beside a run, such as a sink that threw.</summary>
    Error,

    /// <summary>
    /// A node's attempt failed and will be retried after a backoff: <c>attempt</c>, <c>next_attempt</c>,
    /// <c>delay_ms</c> and the error in its metadata. Admitted from <see cref="OutputPolicy.Normal"/>.
    /// </summary>
    Retry,
}

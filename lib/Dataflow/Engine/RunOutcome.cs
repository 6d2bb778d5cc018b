using System.Globalization;
using Dataflow.Events;

namespace Dataflow.Engine;

/// <summary>The one mapping from a final <see cref="RunState"/> to its event kind and its telemetry outcome tag.</summary>
internal static class RunOutcome
{
    /// <summary>The event a run emits when it reaches <paramref name="state"/>.</summary>
    public static EventKind EventKind(RunState state) => state switch
    {
        RunState.Done => Events.EventKind.Complete,
        RunState.Failed => Events.EventKind.Fail,
        RunState.Cancelled => Events.EventKind.Cancel,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Not a final state."),
    };

    /// <summary>The <c>dataflow.outcome</c> tag of a run or node span and of the run counters.</summary>
    public static string Tag(RunState state) => state switch
    {
        RunState.Done => "done",
        RunState.Failed => "failed",
        RunState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Not a final state."),
    };

    /// <summary>The line a final event carries.</summary>
    public static string Describe(RunExecution run, RunState state, double elapsedMs) => state switch
    {
        RunState.Done => string.Create(CultureInfo.InvariantCulture, $"{run.Id} done ({elapsedMs / 1000:0.0##}s)"),
        RunState.Failed => $"{run.Id} failed: {run.View.Error}",
        _ => $"{run.Id} cancelled",
    };
}

namespace Dataflow.Events;

/// <summary>The emission table: which policy admits which kind of event.</summary>
public static class OutputPolicyExtensions
{
    /// <summary>
    /// Whether <paramref name="policy"/> admits events of <paramref name="kind"/>: Verbose admits everything,
    /// Normal all but transitions, Quiet fail, cancel, gate and error, Silent nothing. One comparison.
    /// </summary>
    /// <remarks>
    /// A retry is admitted from Normal, like start and complete: it tells how a run is going (a flaky dependency
    /// shows up before any run fails), but asks nothing of anyone, so Quiet, which keeps what needs attention, leaves
    /// it out; it is rare beside transitions, so Normal does not need Verbose's volume to show it.
    /// </remarks>
    /// <param name="policy">The policy.</param>
    /// <param name="kind">The kind of event.</param>
    /// <returns><see langword="true"/> when the event is emitted under the policy.</returns>
    public static bool Admits(this OutputPolicy policy, EventKind kind) => policy >= MinimumPolicy(kind);

    /// <summary>The least verbose policy that admits <paramref name="kind"/>.</summary>
    /// <param name="kind">The kind of event.</param>
    /// <returns>The policy.</returns>
    public static OutputPolicy MinimumPolicy(this EventKind kind) => kind switch
    {
        EventKind.Transition => OutputPolicy.Verbose,
        EventKind.Start or EventKind.Complete or EventKind.Retry => OutputPolicy.Normal,
        _ => OutputPolicy.Quiet,
    };
}

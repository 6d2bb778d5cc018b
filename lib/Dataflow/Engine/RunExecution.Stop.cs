namespace Dataflow.Engine;

/// <summary>Why a run's token fired (cancelled, or past its deadline), and the deadline's timer.</summary>
internal enum StopReason
{
    /// <summary>The token has not fired.</summary>
    None,

    /// <summary>Cancelled: <see cref="GraphEngine.Cancel"/>, the submit token, or engine shutdown.</summary>
    Cancelled,

    /// <summary>The run passed <see cref="RunOptions.Deadline"/>.</summary>
    Deadline,
}

/// <summary>
/// How a run is stopped from outside: the reason is recorded once (the first wins) before the token is cancelled, so
/// that whoever then ends the run (<see cref="IRunHost.Stopped"/>) knows which final state and error it gets.
/// </summary>
internal sealed partial class RunExecution
{
    private int _stopReason;

    /// <summary>The run's deadline from submit, if it has one.</summary>
    public TimeSpan? Deadline => _extras?.Deadline;

    /// <summary>Why the token fired; <see cref="StopReason.None"/> while it has not.</summary>
    public StopReason StopReason => (StopReason)Volatile.Read(ref _stopReason);

    /// <summary>Whether the run was cancelled or passed its deadline: what the engine checks, without making a token.</summary>
    public bool IsStopRequested => Volatile.Read(ref _stopReason) != (int)StopReason.None;

    /// <summary>Cancels the run's token, recording that it was cancelled unless it was stopped already.</summary>
    public void RequestCancel() => RequestStop(StopReason.Cancelled);

    /// <summary>
    /// Records <paramref name="reason"/> unless a reason is recorded already, then cancels the token if the run has made
    /// one (a token made later starts cancelled: see <see cref="RunToken"/>).
    /// </summary>
    public void RequestStop(StopReason reason)
    {
        Interlocked.CompareExchange(ref _stopReason, (int)reason, (int)StopReason.None);
        Volatile.Read(ref _cancellation)?.Cancel();
    }

    /// <summary>Starts the deadline's timer, counting from submit (so a wait for admission counts too).</summary>
    public void StartDeadline()
    {
        if (_extras is not { Deadline: { } deadline } extras)
        {
            return;
        }

        var time = _network.Host.TimeProvider;
        var remaining = deadline - time.GetElapsedTime(extras.SubmittedAt);
        var timer = time.CreateTimer(static s => ((RunExecution)s!).Expire(), this, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        Volatile.Write(ref extras.DeadlineTimer, timer);
        if (State.IsFinal())
        {
            StopDeadline();
        }
    }

    private void StopDeadline()
    {
        if (Volatile.Read(ref _extras) is { } extras)
        {
            Interlocked.Exchange(ref extras.DeadlineTimer, null)?.Dispose();
        }
    }

    private void Expire() => _network.Host.Expire(this);
}

/// <summary>How a run whose token fired ends: its final state and the error it records.</summary>
internal readonly record struct RunStop(RunState State, Exception Error);

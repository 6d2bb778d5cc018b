namespace Dataflow.Engine.Resilience;

/// <summary>
/// Owns runs between a failed attempt and their next one (<see cref="RunOwner.BackingOff"/>): each waits outside its
/// network for its delay on the engine's clock, holding no node slot, no admission slot and no thread, then takes a
/// new admission slot and is posted back to the block of the step that failed. A run stopped while it waits (cancel,
/// deadline, shutdown) is ended here at once.
/// </summary>
internal sealed class BackoffWaiter(RunLifecycle lifecycle)
{
    private int _waiting;

    /// <summary>Runs in a backoff now.</summary>
    public int Count => Volatile.Read(ref _waiting);

    /// <summary>
    /// Takes an executing run out of its network for <paramref name="delay"/> after its attempt
    /// <paramref name="attempt"/> failed with <paramref name="error"/>; the waiter publishes the retry event once the
    /// delay has started, so that a listener that sees the event may move a fake clock on.
    /// </summary>
    public void Park(RunExecution run, NetworkStep step, int attempt, TimeSpan delay, Exception error)
    {
        run.ParkForBackoff();
        Interlocked.Increment(ref _waiting);
        if (lifecycle.IsShuttingDown)
        {
            // Disposal cancels the runs that waited when it began, not this one: nobody would advance it any more.
            run.RequestCancel();
        }

        lifecycle.Background.Track(WaitAsync(run, step, attempt, delay, error));
    }

    private async Task WaitAsync(RunExecution run, NetworkStep step, int attempt, TimeSpan delay, Exception error)
    {
        try
        {
            var backoff = Task.Delay(delay, lifecycle.TimeProvider, run.CancellationToken);
            await lifecycle.Events.EmitRetryAsync(run, step.Name, attempt, delay, error).ConfigureAwait(false);
            await backoff.ConfigureAwait(false);
            run.ResumeFromBackoff(await step.Network.EnterAsync(run.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            // Stopped while it waited (or, unexpectedly, anything else): the waiter still owns the run, and ends it.
            Interlocked.Decrement(ref _waiting);
            var stop = e is OperationCanceledException && run.IsStopRequested ? lifecycle.Stopped(run) : new RunStop(RunState.Failed, e);
            run.TakeForFinish();
            await lifecycle.FinishAsync(run, stop.State, null, stop.Error).ConfigureAwait(false);
            return;
        }

        Interlocked.Decrement(ref _waiting);

        // The run is Idle with a new slot: post it back, or, if the network no longer takes runs, end it.
        if (!step.Post(run) && run.TryTakeIdle())
        {
            var stop = lifecycle.Stopped(run);
            await lifecycle.FinishAsync(run, stop.State, null, stop.Error).ConfigureAwait(false);
        }
    }
}

using Dataflow.Engine.Resilience;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Engine;

/// <summary>
/// Ties the engine's parts together for the networks (<see cref="IRunHost"/>): ending runs (state, event, registry,
/// telemetry, slot, completion), cancelling them and passing their deadlines (the one place that decides how a run
/// whose token fired ends: <see cref="Stopped"/>), parking them at gates and in backoffs, and the shutdown flag.
/// </summary>
internal sealed class RunLifecycle : IRunHost
{
    private int _shuttingDown;

    public RunLifecycle(GraphEngineOptions options, EventHub hub)
    {
        TimeProvider = options.TimeProvider;
        Services = options.Services;
        Registry = new RunRegistry(options.HistoryCapacity, options.Checkpoints is { } store ? store.ReserveRunIdPrefix() + "-" : "g");
        Events = new RunEvents(hub, options.TimeProvider);
        Gates = new GateCoordinator(this);
        Backoffs = new BackoffWaiter(this);
        FanOuts = new FanOutCoordinator(this);
    }

    public TimeProvider TimeProvider { get; }

    public IServiceProvider? Services { get; }

    public string FormatRunId(long number) => Registry.Format(number);

    public RunRegistry Registry { get; }

    public RunEvents Events { get; }

    public GateCoordinator Gates { get; }

    public BackoffWaiter Backoffs { get; }

    public FanOutCoordinator FanOuts { get; }

    /// <summary>Finds or makes the engine's network of a graph (for subgraphs); null once the engine is disposed. Set by the engine.</summary>
    public Func<Graph, GraphNetwork?>? Networks { get; set; }

    public BackgroundWork Background { get; } = new();

    public bool IsShuttingDown => Volatile.Read(ref _shuttingDown) != 0;

    /// <summary>From now on, a run that parks at a gate or in a backoff is cancelled, and cancelled runs say the engine shut down.</summary>
    public void BeginShutdown() => Volatile.Write(ref _shuttingDown, 1);

    public ValueTask EmitStartAsync(RunExecution run) => Events.EmitStartAsync(run);

    public ValueTask EmitTransitionAsync(RunExecution run, string from, string to) => Events.EmitTransitionAsync(run, from, to);

    public void ParkAtGates(RunExecution run, NetworkStep step, INode node) => Gates.Park(run, step, node);

    public void ParkForBackoff(RunExecution run, NetworkStep step, int attempt, TimeSpan delay, Exception error) => Backoffs.Park(run, step, attempt, delay, error);

    public ValueTask EmitRecoveryAsync(RunExecution run, string to, NodeFailure failure) => Events.EmitRecoveryAsync(run, to, failure);

    public void ParkForChildren(RunExecution run, NetworkStep step, INode node, IChildRunRequest request, GraphNetwork network) => FanOuts.Park(run, step, node, request, network);

    public GraphNetwork? NetworkFor(Graph graph) => Networks?.Invoke(graph);

    public ValueTask EmitJoinAsync(RunExecution run, string from, string to, ChildRunGroup children) => Events.EmitJoinAsync(run, from, to, children);

    public async ValueTask FinishAsync(RunExecution run, RunState state, INode? result, Exception? error)
    {
        if (!run.TryFinish(state, result, error))
        {
            return;
        }

        try
        {
            if (run.Durable is { } durable)
            {
                Exception? failure = null;
                try
                {
                    await durable.SaveFinal(run, state, result, error, IsShuttingDown).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    failure = e;
                }

                if (failure is not null)
                {
                    await Events.EmitErrorAsync(run, $"{run.Id} could not record its final checkpoint: {failure.GetType().Name}: {failure.Message}", failure).ConfigureAwait(false);
                }
            }

            await Events.EmitFinalAsync(run, state).ConfigureAwait(false);
            await DisposeServicesAsync(run).ConfigureAwait(false);
        }
        finally
        {
            Registry.Ended(run);
            RunInstrumentation.RunEnded(run, state);
            run.SignalCompletion();
            run.ReleaseAdmission();

            // A child tells its fan-out last, once its slot is free for the next child; a batch's run tells its batch.
            run.ParentLink?.ChildEnded(run, state);
            run.Batch?.RunEnded(run, state);
        }
    }

    public void Saved(RunExecution run, NetworkStep next, bool start, Exception? failure)
    {
        try
        {
            if (start)
            {
                if (failure is null && next.Post(run))
                {
                    return;
                }

                if (run.TryTakeIdle())
                {
                    // The start checkpoint failed, or the network stopped taking runs: the run ends before it began.
                    var stop = failure is null ? Stopped(run) : new RunStop(RunState.Failed, failure);
                    Background.Track(EndTakenAsync(run, stop.State, null, stop.Error).AsTask());
                }

                return;
            }

            if (failure is not null)
            {
                run.TakeForFinish();
                Background.Track(FinishAsync(run, RunState.Failed, null, failure).AsTask());
                return;
            }

            run.HandOff();
            if (!next.Post(run) && run.TryTakeIdle())
            {
                var stop = Stopped(run);
                Background.Track(FinishAsync(run, stop.State, null, stop.Error).AsTask());
            }
        }
        catch (Exception e)
        {
            Background.Failed(e);
        }
        finally
        {
            Background.End();
        }
    }

    /// <summary>Disposes a run's own services; a failure is reported as an error event, the run's outcome stands.</summary>
    private async ValueTask DisposeServicesAsync(RunExecution run)
    {
        try
        {
            await run.DisposeServicesAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await Events.EmitErrorAsync(run, $"{run.Id} could not dispose its services: {e.GetType().Name}: {e.Message}", e).ConfigureAwait(false);
        }
    }

    public bool Cancel(RunExecution run) => Stop(run, StopReason.Cancelled);

    public void Expire(RunExecution run) => Stop(run, StopReason.Deadline);

    public RunStop Stopped(RunExecution run, Exception? observed = null)
        => run.StopReason == StopReason.Deadline
            ? new RunStop(RunState.Failed, new RunDeadlineExceededException(run.Id, run.Deadline!.Value, run.Graph.NameOf(run.CurrentNode.GetType())))
            : new RunStop(RunState.Cancelled, observed ?? CancelledError(run));

    /// <summary>
    /// Stops a run whoever owns it: records why and cancels its token. A run in a buffer ends at once; its executor,
    /// gate waiter or backoff waiter sees the token and ends it (<see cref="Stopped"/> says how).
    /// </summary>
    private bool Stop(RunExecution run, StopReason reason)
    {
        if (run.State.IsFinal())
        {
            return false;
        }

        run.RequestStop(reason);
        if (run.TryTakeIdle())
        {
            // The run sits in a buffer: end it now; the block that dequeues it later finds it taken and drops it.
            var stop = Stopped(run);
            Background.Track(EndTakenAsync(run, stop.State, null, stop.Error).AsTask());
        }

        return true;
    }

    /// <summary>Ends a run taken while Idle (cancelled in a buffer, or a start node that is terminal): it may not have started yet.</summary>
    public async ValueTask EndTakenAsync(RunExecution run, RunState state, INode? result, Exception? error)
    {
        try
        {
            await EmitStartAsync(run).ConfigureAwait(false);
        }
        finally
        {
            await FinishAsync(run, state, result, error).ConfigureAwait(false);
        }
    }

    private OperationCanceledException CancelledError(RunExecution run)
        => IsShuttingDown
            ? new OperationCanceledException($"Run {run.Id} was cancelled: the engine is shutting down.")
            : new OperationCanceledException($"Run {run.Id} was cancelled.");
}

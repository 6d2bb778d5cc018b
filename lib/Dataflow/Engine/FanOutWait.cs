using System.Globalization;
using Dataflow.Engine.Checkpoints;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// One fan-out (or subgraph step) of a parent run: it owns the parent (<see cref="RunOwner.AwaitingChildren"/>) from the
/// moment its node returned until the join continues it or it ends, starts the children lazily, at most
/// <see cref="IChildRunRequest.MaxInFlight"/> at a time, records how each ended, and applies the policy.
/// </summary>
/// <remarks>
/// <para><b>Who touches what.</b> One flow, <see cref="RunAsync"/>, owns the parent and alone publishes its events,
/// enumerates the children's start nodes (user code) and starts children; it is also the flow that continues the parent
/// afterwards. Children end on their own threads and report in <see cref="ChildEnded"/>, called by their finisher after
/// their final event, their completion and their admission slot; cancelling the parent (its token) calls
/// <see cref="Stop"/> from whichever thread cancels.</para>
/// <para><b>Lock.</b> <c>_lock</c> guards the live children, the counters, the outcomes and the <c>_stopping</c> and
/// <c>_generating</c> flags. Nothing is awaited or called out under it: the children to cancel are copied out and
/// cancelled after it is left, so a child that ends at once on being cancelled (and reports back here) cannot re-enter
/// it on the same thread mid-update. A child is added to the live set under the same lock that reads
/// <c>_stopping</c>, so a stop either sees it (and cancels it) or it sees the stop (and cancels itself).</para>
/// <para><b>The window.</b> <c>_window</c> (an <see cref="AdmissionGate"/>) counts free places among the children in flight; the flow takes one
/// before it takes the next start node from the sequence, and a child's end gives it back. So at most the bound's
/// number of children (and of start nodes taken from the user's sequence) are alive at once, whatever the item count;
/// what is kept per child after its end is its result (or error) for the join.</para>
/// </remarks>
internal sealed partial class FanOutWait
{
    private readonly RunLifecycle _lifecycle;
    private readonly RunExecution _parent;
    private readonly NetworkStep _step;
    private readonly INode _node;
    private readonly GraphNetwork _network;
    private readonly RunSettings _settings;
    private readonly FanOutPolicy _policy;
    private readonly AdmissionGate _window;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _allEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private readonly Dictionary<int, RunExecution> _live = [];
    private readonly string _childStart;
    private readonly int _firstNumber;
    private readonly ResumedFanOut? _resumed;
    private IChildRunRequest? _request;
    private ChildOutcomes? _outcomes;
    private bool _generating = true;
    private bool _stopping;
    private int _started;
    private int _done;
    private int _failed;
    private int _cancelled;
    private (string Id, RunState State, Exception? Error)? _firstFailure;

    public FanOutWait(RunLifecycle lifecycle, RunExecution parent, NetworkStep step, INode node, IChildRunRequest request, GraphNetwork network, ResumedFanOut? resumed = null)
    {
        _resumed = resumed;
        _lifecycle = lifecycle;
        _parent = parent;
        _step = step;
        _node = node;
        _request = request;
        _network = network;
        _policy = request.Policy;
        _window = new AdmissionGate(Math.Max(request.MaxInFlight, 1));
        _childStart = step.Node.Children!.Subgraph is { } graph ? graph.StartName : step.Network.Graph.NameOf(step.Node.Children.Start);
        _firstNumber = resumed?.First ?? parent.ChildrenStarted + 1;
        _outcomes = new ChildOutcomes(parent.Id, _firstNumber);

        // Children run under the parent's policy and limits, with its services; the parent's deadline reaches them through its token.
        _settings = new RunSettings(parent.Policy, parent.MaxIterations, parent.TracksMemory, parent.Context.Services);
    }

    public string ParentId => _parent.Id;

    /// <summary>The parent run's span, if it is traced: its children's spans go under it.</summary>
    public System.Diagnostics.Activity? ParentActivity => _parent.Activity;

    private bool IsSubgraph => _step.Node.Children!.IsSubgraph;

    /// <summary>The fan-out as the parent's trace summary shows it, now.</summary>
    public ChildRunGroup Summary()
    {
        lock (_lock)
        {
            return new ChildRunGroup(_step.Name, _childStart, IsSubgraph, _parent.Id + "/", _firstNumber, _started, _done, _failed, _cancelled);
        }
    }

    /// <summary>Owns the parent from its park to its continuation or end. Never throws.</summary>
    public async Task RunAsync()
    {
        Exception? failure;
        CancellationTokenRegistration parentStop = default;
        try
        {
            if (_resumed is not null)
            {
                // Restored waiting: the run starts here, not at a step.
                await _lifecycle.EmitStartAsync(_parent).ConfigureAwait(false);
            }

            await _lifecycle.Events.EmitChildrenAsync(_parent, _step.Name, _childStart, IsSubgraph).ConfigureAwait(false);
            parentStop = _parent.CancellationToken.UnsafeRegister(static s => ((FanOutWait)s!).Stop(), this);
            failure = _parent.Durable is null
                ? await StartChildrenAsync().ConfigureAwait(false)
                : await StartDurableChildrenAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = e;
        }

        if (failure is not null)
        {
            Stop();
        }

        bool ended;
        lock (_lock)
        {
            _generating = false;
            ended = _live.Count == 0;
        }

        if (ended)
        {
            _allEnded.TrySetResult();
        }

        await _allEnded.Task.ConfigureAwait(false);
        await parentStop.DisposeAsync().ConfigureAwait(false);
        if (_parent.Durable is null)
        {
            _parent.ChildrenStarted += _started;
        }
        else
        {
            // A durable fan-out reserved a number for each item when it was checkpointed.
            failure ??= await EndUnresumedAsync().ConfigureAwait(false);
        }

        await ContinueParentAsync(failure).ConfigureAwait(false);
    }

    /// <summary>The id of the child at item <paramref name="index"/>: the parent's id, a slash and the child's number.</summary>
    public string ChildId(int index) => string.Create(CultureInfo.InvariantCulture, $"{_parent.Id}/{_firstNumber + index}");

    /// <summary>The child numbered <paramref name="number"/> if it is in flight now; null otherwise.</summary>
    public RunExecution? LiveChild(long number)
    {
        var index = number - _firstNumber;
        if (index < 0 || index > int.MaxValue)
        {
            return null;
        }

        lock (_lock)
        {
            return _live.GetValueOrDefault((int)index);
        }
    }

    /// <summary>A child reached its final state (called by its finisher, last).</summary>
    public void ChildEnded(RunExecution child, RunState state)
    {
        // The place in the window first, so that the flow can start the next child while this one is accounted for.
        _window.Leave();
        List<RunExecution>? cancel = null;
        bool ended;
        lock (_lock)
        {
            var index = child.ChildIndex;
            _live.Remove(index);
            if (state == RunState.Done)
            {
                _outcomes?.Done(index, child.Result);
                _done++;
            }
            else
            {
                _outcomes?.Failed(index, child.Exception ?? new OperationCanceledException($"Run {child.Id} was cancelled."));
                if (state == RunState.Failed)
                {
                    _failed++;
                }
                else
                {
                    _cancelled++;
                }

                if (_policy == FanOutPolicy.FailFast && !_stopping)
                {
                    _firstFailure = (child.Id, state, child.Exception);
                    cancel = StopLocked();
                }
            }

            ended = !_generating && _live.Count == 0;
        }

        if (cancel is not null)
        {
            CancelAll(cancel);
        }

        if (ended)
        {
            _allEnded.TrySetResult();
        }
    }

    /// <summary>Starts no more children and cancels those in flight: the parent was stopped, or the fan-out failed.</summary>
    private void Stop()
    {
        List<RunExecution> live;
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            live = StopLocked();
        }

        CancelAll(live);
    }

    private List<RunExecution> StopLocked()
    {
        _stopping = true;
        return [.. _live.Values];
    }

    private void CancelAll(List<RunExecution> children)
    {
        _stop.Cancel();
        foreach (var child in children)
        {
            _lifecycle.Cancel(child);
        }
    }

    /// <summary>
    /// Takes the children's start nodes one at a time, each once a place in the window is free, and starts each through
    /// the network's admission. Returns what went wrong on the parent's side (the sequence threw, or gave a start node
    /// outside the graph), or null once the sequence is over or the fan-out stopped.
    /// </summary>
    private async Task<Exception?> StartChildrenAsync()
    {
        var token = _stop.Token;
        using var children = _request!.Children.GetEnumerator();
        while (true)
        {
            try
            {
                await _window.EnterAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            if (!children.MoveNext())
            {
                return null;
            }

            var start = children.Current;
            if (start is null || _network.StepFor(start.GetType()) is not { } step)
            {
                return NotAChild(start, _started);
            }

            if (!_network.TryEnter(out var lease))
            {
                try
                {
                    lease = await _network.EnterAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
            }

            Launch(start, step, lease, null);
        }
    }

    /// <summary>
    /// Starts one child with its admission slot (from <paramref name="start"/>, or, resumed, from <paramref name="resumed"/>),
    /// unless the fan-out stopped meanwhile.
    /// </summary>
    private void Launch(INode start, NetworkStep step, AdmissionLease lease, ResumedRun? resumed)
    {
        int index;
        lock (_lock)
        {
            if (_stopping)
            {
                lease.Return();
                return;
            }

            index = _started++;
            _outcomes!.Add();
        }

        // Children take the parent's services (no own services that could fail to be made): a child cannot fail to exist.
        var child = resumed is not null
            ? RestoredRuns.Create(_lifecycle, resumed, _settings, lease)
            : new RunExecution(_lifecycle.Registry.NextChildNumber(), start, _settings, lease);

        if (resumed is null && _network.Recorder is { } recorder)
        {
            // Checkpointed like any run: its start checkpoint is recorded at its first step.
            child.Durable = new DurableRun(recorder);
        }

        child.LinkToParent(this, index);

        // Live before anyone can see it (the registry lets the engine's shutdown cancel it): its end must find it here.
        bool stopping;
        lock (_lock)
        {
            _live.Add(index, child);
            stopping = _stopping;
        }

        RunInstrumentation.RunStarted(child);
        _lifecycle.Registry.Add(child);

        if (stopping)
        {
            // Stopped between the two locks: the stop did not see this child, so it stops itself (at its first step).
            child.RequestCancel();
        }

        if (resumed is not null)
        {
            if (!RestoredRuns.Dispatch(_lifecycle, child, resumed) && child.TryTakeIdle())
            {
                var stopped = _lifecycle.Stopped(child);
                _lifecycle.Background.Track(_lifecycle.EndTakenAsync(child, stopped.State, null, stopped.Error).AsTask());
            }
        }
        else if (step.Block is null)
        {
            // The start node is itself terminal: the child is done before it begins.
            child.TryTakeIdle();
            _lifecycle.Background.Track(_lifecycle.EndTakenAsync(child, RunState.Done, start, null).AsTask());
        }
        else if (!step.Post(child) && child.TryTakeIdle())
        {
            // The network no longer takes runs: the engine is shutting down.
            var stop = _lifecycle.Stopped(child);
            _lifecycle.Background.Track(_lifecycle.EndTakenAsync(child, stop.State, null, stop.Error).AsTask());
        }
    }

    /// <summary>Every child has ended: the parent ends (stopped, or failed), takes its recovery route, or goes on at the join.</summary>
    private async Task ContinueParentAsync(Exception? failure)
    {
        var request = _request!;
        var outcomes = _outcomes!;
        _request = null;
        if (_parent.Durable is not null && _cancelled > 0 && _lifecycle.IsShuttingDown)
        {
            // Children cancelled by the engine's shutdown stay resumable, and so does their parent: no join now.
            _parent.RequestCancel();
        }

        if (_parent.IsStopRequested)
        {
            _outcomes = null;
            var stop = _lifecycle.Stopped(_parent);
            _parent.TakeForFinish();
            await _lifecycle.FinishAsync(_parent, stop.State, null, stop.Error).ConfigureAwait(false);
            return;
        }

        var error = failure ?? (_firstFailure is { } first ? new ChildRunFailedException(_parent.Id, _step.Name, first.Id, first.State, first.Error) : null);
        INode? next = null;
        if (error is null)
        {
            try
            {
                next = request.Join(outcomes, _step.Node.Children!) ?? throw new NodeContractException($"The join of node '{_step.Name}' returned null; it must return the parent's next node.");
            }
            catch (Exception e)
            {
                error = e;
            }
        }

        // What the join needed is let go of: the parent keeps only the counts for its trace summary.
        lock (_lock)
        {
            _outcomes = null;
        }

        await _step.ContinueAfterChildrenAsync(_parent, _node, next, error, Summary()).ConfigureAwait(false);
    }
}

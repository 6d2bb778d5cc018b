using Dataflow.Checkpoints;
using Dataflow.Engine.Checkpoints;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// A durable parent's fan-out: before any child starts, the parent records a checkpoint that it waits for children
/// (<see cref="CheckpointState.AwaitingChildren"/>: the policy, the bound, the first child number and every child's start
/// node), so a crash from then on resumes it waiting; its children checkpoint like any run. Resumed, it takes each
/// item's child where it stood: a finished child's outcome is read from its final checkpoint (it does not run again),
/// an unfinished one resumes from its last checkpoint, one never started starts.
/// </summary>
/// <remarks>
/// The items are taken from the user's sequence at once (they go into the checkpoint), so a durable fan-out's memory
/// grows with its item count, not only with its bound. Children are numbered from the first number up, one per item,
/// whether they start or not, so that an id always names the same item, before a crash and after.
/// </remarks>
internal sealed partial class FanOutWait
{
    private IReadOnlyList<INode>? _items;

    /// <summary>
    /// Records the parent's wait, or takes it from the resumed checkpoint, then starts or resumes the children item by
    /// item under the window. Returns what went wrong on the parent's side, or null.
    /// </summary>
    private async Task<Exception?> StartDurableChildrenAsync()
    {
        if (_resumed is null)
        {
            if (_request!.HasJoinFunction)
            {
                return new NodeContractException($"Node '{_step.Name}' of a durable graph returned a {(IsSubgraph ? "subgraph step" : "fan-out")} with a join function, which a checkpoint cannot hold; return it without the function, so that its join is made by the constructor of '{_step.Node.Children!.Next.Name}'.");
            }

            var items = new List<INode>();
            foreach (var start in _request.Children)
            {
                if (start is null || _network.StepFor(start.GetType()) is null)
                {
                    return NotAChild(start, items.Count);
                }

                items.Add(start);
            }

            _items = items;
            _parent.ChildrenStarted = _firstNumber - 1 + items.Count;
            await _parent.Durable!.AwaitingChildrenAsync(_parent, ResumePlanner.ChildrenJson(_policy, _request.MaxInFlight, _firstNumber, items, _network.Graph)).ConfigureAwait(false);
        }
        else
        {
            _items = _resumed.Items;
            if (_policy == FanOutPolicy.FailFast && _resumed.Children.FirstOrDefault(c => c.Final is { State: not CheckpointState.Done }) is { Final: { } failed } child)
            {
                // A child had failed before the crash: its siblings were being cancelled, and those left are now.
                lock (_lock)
                {
                    _firstFailure = (failed.RunId, failed.State == CheckpointState.Failed ? RunState.Failed : RunState.Cancelled, child.RecordedError());
                    _ = StopLocked();
                }

                _stop.Cancel();
                return null;
            }
        }

        var token = _stop.Token;
        for (var i = 0; i < _items.Count; i++)
        {
            var prior = _resumed?.Children[i] ?? default;
            if (prior.Final is not null)
            {
                if (!Finished(prior))
                {
                    return null;
                }

                continue;
            }

            AdmissionLease lease;
            try
            {
                await _window.EnterAsync(token).ConfigureAwait(false);
                if (!_network.TryEnter(out lease))
                {
                    lease = await _network.EnterAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            Launch(_items[i], _network.StepFor(_items[i].GetType())!, lease, prior.Unfinished);
        }

        return null;
    }

    /// <summary>A child that had ended before the crash: its outcome, from its final checkpoint. False once the fan-out stopped.</summary>
    private bool Finished(ResumedChild prior)
    {
        lock (_lock)
        {
            if (_stopping)
            {
                return false;
            }

            var index = _started++;
            _outcomes!.Add();
            if (prior.Final!.State == CheckpointState.Done)
            {
                _outcomes.Done(index, prior.Result);
                _done++;
            }
            else
            {
                // Settle (fail-fast stopped before the loop): the join gets the recorded failure.
                _outcomes.Failed(index, prior.RecordedError());
                _ = prior.Final.State == CheckpointState.Failed ? _failed++ : _cancelled++;
            }
        }

        return true;
    }

    /// <summary>
    /// Ends, with a final Cancelled checkpoint, the children that had started before the crash and were not resumed
    /// because the fan-out stopped (and their own unfinished children): no run of them stays resumable for ever. Not
    /// when the engine shuts down: then they, like their parent, stay resumable.
    /// </summary>
    private async Task<Exception?> EndUnresumedAsync()
    {
        if (_resumed is null || _lifecycle.IsShuttingDown)
        {
            return null;
        }

        try
        {
            for (var i = _started; i < _resumed.Children.Length; i++)
            {
                if (_resumed.Children[i].Unfinished is { } unfinished)
                {
                    await CancelRecordedAsync(unfinished).ConfigureAwait(false);
                }
            }

            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private async Task CancelRecordedAsync(ResumedRun run)
    {
        foreach (var child in run.FanOut?.Children ?? [])
        {
            if (child.Unfinished is { } unfinished)
            {
                await CancelRecordedAsync(unfinished).ConfigureAwait(false);
            }
        }

        var last = run.Checkpoint;
        await run.Network.Recorder!.SaveAsync(last with
        {
            Sequence = last.Sequence + 1,
            State = CheckpointState.Cancelled,
            Error = $"{nameof(OperationCanceledException)}: Run {last.RunId} was cancelled: its fan-out stopped before it was resumed.",
            Timestamp = _lifecycle.TimeProvider.GetUtcNow(),
            Gates = null,
            GatesResolved = false,
            Children = null,
        }).ConfigureAwait(false);
    }

    private NodeContractException NotAChild(INode? start, int item)
        => new(start is null
            ? $"The fan-out of node '{_step.Name}' gave a null start node for item {item}."
            : $"The fan-out of node '{_step.Name}' gave a '{start.GetType().Name}' for item {item}, which is not a node of the graph that starts at '{_network.Graph.StartName}'.");
}

using Dataflow.Engine.Resilience;
using Dataflow.Events;
using Dataflow.Graphs.Inputs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Engine;

/// <summary>Builds a run's lifecycle events and publishes them to the hub. Only a run's owner emits its events.</summary>
internal sealed class RunEvents(EventHub hub, TimeProvider time)
{
    /// <summary>The most characters of a start node's text that its start event carries.</summary>
    internal const int MaxInputLength = 500;

    private long _undelivered;

    public EventHub Hub => hub;

    /// <summary>Events that could not be published because the hub was disposed before the engine.</summary>
    public long Undelivered => Interlocked.Read(ref _undelivered);

    /// <summary>
    /// The start event, once per run. Its line carries the start node's text (bounded), so that a search for a run's
    /// input, such as an order number, finds every run of it, not only those that failed.
    /// </summary>
    public ValueTask EmitStartAsync(RunExecution run)
    {
        if (run.StartEmitted)
        {
            return default;
        }

        run.MarkStartEmitted();
        if (!Wanted(run, EventKind.Start))
        {
            return default;
        }

        var input = Bounded(run.StartNode.ToString());
        var parent = run.ParentLink;
        return PublishAsync(new GraphEvent(run.Id, EventKind.Start, $"{run.Id} started: {input}", run.StartedAt, run.NextSequence())
        {
            Graph = run.Graph.StartName,
            Node = parent is not null ? run.Graph.NameOf(run.StartNode.GetType()) : run.Graph.StartName,
            Extra = parent is null ? null : new Dictionary<string, object?> { ["parent_run_id"] = parent.ParentId },
        });
    }

    public ValueTask EmitTransitionAsync(RunExecution run, string from, string to)
        => Wanted(run, EventKind.Transition)
            ? PublishAsync(new GraphEvent(run.Id, EventKind.Transition, $"{run.Id} {from} -> {to}", time.GetUtcNow(), run.NextSequence())
            {
                Graph = run.Graph.StartName,
                Node = from,
                NextNode = to,
            })
            : default;

    /// <summary>A node started children (a fan-out or a subgraph): a transition event to the children's start, with the route.</summary>
    public ValueTask EmitChildrenAsync(RunExecution run, string from, string childStart, bool isSubgraph)
    {
        if (!run.Policy.Admits(EventKind.Transition))
        {
            return default;
        }

        var route = isSubgraph ? "subgraph" : "fanout";
        return PublishAsync(new GraphEvent(run.Id, EventKind.Transition, $"{run.Id} {from} -> {childStart} ({(isSubgraph ? "subgraph" : "fan-out")})", time.GetUtcNow(), run.NextSequence())
        {
            Graph = run.Graph.StartName,
            Node = from,
            NextNode = childStart,
            Extra = new Dictionary<string, object?> { ["route"] = route },
        });
    }

    /// <summary>The children of a node ended and its join (or a subgraph's next node) continues the run.</summary>
    public ValueTask EmitJoinAsync(RunExecution run, string from, string to, ChildRunGroup children)
        => run.Policy.Admits(EventKind.Transition)
            ? PublishAsync(new GraphEvent(run.Id, EventKind.Transition, $"{run.Id} {from} -> {to} (join: {children.Done} done, {children.Failed + children.Cancelled} failed of {children.Started})", time.GetUtcNow(), run.NextSequence())
            {
                Graph = run.Graph.StartName,
                Node = from,
                NextNode = to,
                Extra = new Dictionary<string, object?>
                {
                    ["route"] = "join",
                    ["children"] = children.Started,
                    ["failed_children"] = children.Failed + children.Cancelled,
                },
            })
            : default;

    /// <summary>
    /// A failed attempt that will be retried: the attempt that failed, the delay before the next, and the error.
    /// </summary>
    public ValueTask EmitRetryAsync(RunExecution run, string node, int attempt, TimeSpan delay, Exception error)
        => Wanted(run, EventKind.Retry)
            ? PublishAsync(new GraphEvent(run.Id, EventKind.Retry, $"{run.Id} {node} attempt {attempt} failed, retrying in {Durations.Format(delay)}: {error.GetType().Name}: {error.Message}", time.GetUtcNow(), run.NextSequence())
            {
                Graph = run.Graph.StartName,
                Node = node,
                Error = $"{error.GetType().Name}: {error.Message}",
                Extra = new Dictionary<string, object?>
                {
                    ["attempt"] = attempt,
                    ["next_attempt"] = attempt + 1,
                    ["delay_ms"] = Math.Round(delay.TotalMilliseconds, 3),
                },
            })
            : default;

    /// <summary>The transition of a node that failed for good to its recovery node: a transition event carrying the error.</summary>
    public ValueTask EmitRecoveryAsync(RunExecution run, string to, NodeFailure failure)
        => Wanted(run, EventKind.Transition)
            ? PublishAsync(new GraphEvent(run.Id, EventKind.Transition, $"{run.Id} {failure.NodeName} -> {to} (recovery: {failure.Error.GetType().Name}: {failure.Error.Message})", time.GetUtcNow(), run.NextSequence())
            {
                Graph = run.Graph.StartName,
                Node = failure.NodeName,
                NextNode = to,
                Error = $"{failure.Error.GetType().Name}: {failure.Error.Message}",
                Extra = new Dictionary<string, object?>
                {
                    ["route"] = "recovery",
                    ["attempts"] = failure.Attempts,
                },
            })
            : default;

    public ValueTask EmitFinalAsync(RunExecution run, RunState state)
    {
        var kind = RunOutcome.EventKind(state);
        if (!Wanted(run, kind))
        {
            return default;
        }

        var endedAt = run.EndedAt!.Value;
        var elapsed = (endedAt - run.StartedAt).TotalMilliseconds;
        return PublishAsync(new GraphEvent(run.Id, kind, RunOutcome.Describe(run, state, elapsed), endedAt, run.NextSequence())
        {
            Graph = run.Graph.StartName,
            Node = run.Graph.NameOf(run.CurrentNode.GetType()),
            DurationMs = elapsed,
            Error = state == RunState.Done ? null : run.View.Error,
        });
    }

    public ValueTask EmitGateAsync(RunExecution run, PendingGate gate)
        => Wanted(run, EventKind.Gate)
            ? PublishAsync(new GraphEvent(run.Id, EventKind.Gate, $"{run.Id} waiting at gate {gate.Id}: {gate.Display}", time.GetUtcNow(), run.NextSequence())
            {
                Graph = run.Graph.StartName,
                Node = gate.NodeName,
                Extra = new Dictionary<string, object?>
                {
                    ["gate_id"] = gate.Id,
                    ["field"] = gate.Field,
                    ["gate_type"] = TypeNames.Of(gate.Type),
                    ["description"] = gate.Description,
                },
            })
            : default;

    /// <summary>A problem around a run that does not change its outcome, such as its services failing to dispose.</summary>
    public ValueTask EmitErrorAsync(RunExecution run, string content, Exception error)
        => Wanted(run, EventKind.Error)
            ? PublishAsync(new GraphEvent(run.Id, EventKind.Error, content, time.GetUtcNow(), run.NextSequence())
            {
                Graph = run.Graph.StartName,
                Error = $"{error.GetType().Name}: {error.Message}",
            })
            : default;

    /// <summary>
    /// Whether to build and publish an event of <paramref name="kind"/> for <paramref name="run"/>: its policy admits it
    /// and some sink would take it. An admitted event that no sink would take still uses up its sequence number, so that
    /// a run's events are numbered the same whoever listens.
    /// </summary>
    private bool Wanted(RunExecution run, EventKind kind)
    {
        if (!run.Policy.Admits(kind))
        {
            return false;
        }

        if (hub.Wants(kind))
        {
            return true;
        }

        run.NextSequence();
        return false;
    }

    private static string Bounded(string? text)
        => text is null ? string.Empty : text.Length <= MaxInputLength ? text : string.Concat(text.AsSpan(0, MaxInputLength), "…");

    private ValueTask PublishAsync(GraphEvent graphEvent)
    {
        try
        {
            var pending = hub.PublishAsync(graphEvent);
            return pending.IsCompletedSuccessfully ? default : AwaitPublishAsync(pending);
        }
        catch (ObjectDisposedException)
        {
            Interlocked.Increment(ref _undelivered);
            return default;
        }
    }

    private async ValueTask AwaitPublishAsync(ValueTask pending)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            Interlocked.Increment(ref _undelivered);
        }
    }
}

using System.Collections.Concurrent;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>
/// The gates runs wait at: registers them when a run parks, lets callers resolve them, and hands each run back to
/// its network once all its gates have values. While a run waits its gate waiter owns it, and it holds no node slot
/// and no admission slot.
/// </summary>
internal sealed class GateCoordinator(RunLifecycle lifecycle)
{
    private readonly ConcurrentDictionary<string, PendingGate> _gates = new(StringComparer.Ordinal);

    public int Count => _gates.Count;

    public PendingGate? Find(string gateId) => _gates.GetValueOrDefault(gateId);

    /// <summary>Takes an executing run out of its network to wait at the gates of <paramref name="node"/>.</summary>
    public void Park(RunExecution run, NetworkStep step, INode node)
    {
        var gates = new PendingGate[step.Node.Inputs.Gates.Count];
        for (var i = 0; i < gates.Length; i++)
        {
            var input = step.Node.Inputs.Gates[i];
            gates[i] = new PendingGate($"{run.Id}.{run.NextGateNumber++}", run.Id, input.Property.Name, input.Property.PropertyType, input.Description, step.NodeType, step.Name);
            _gates[gates[i].Id] = gates[i];
        }

        run.Park(gates);
        if (lifecycle.IsShuttingDown)
        {
            // Nobody may ever resolve these gates: disposal cancels the runs that waited when it began, not this one.
            run.RequestCancel();
        }

        lifecycle.Background.Track(WaitAsync(run, step, node, gates));
    }

    /// <summary>Gives a gate its value; see <see cref="GraphEngine.ResolveGate"/>.</summary>
    public bool Resolve(string gateId, object? value)
    {
        if (!_gates.TryGetValue(gateId, out var gate))
        {
            return false;
        }

        if (!gate.Accepts(value))
        {
            throw new ArgumentException(
                $"Gate {gate.Id} ({gate.Display}) takes a {TypeNames.Of(gate.Type)}, not {(value is null ? "null" : "a " + TypeNames.Of(value.GetType()))}; the gate is still pending.",
                nameof(value));
        }

        return _gates.TryRemove(new KeyValuePair<string, PendingGate>(gateId, gate)) && gate.TrySetValue(value);
    }

    private async Task WaitAsync(RunExecution run, NetworkStep step, INode node, PendingGate[] gates)
    {
        // Gate timeouts count from here, before the gate events: a listener that sees them may move a fake clock on.
        var parkedAt = lifecycle.TimeProvider.GetTimestamp();
        try
        {
            if (run.Durable is { } durable)
            {
                await durable.ParkedAsync(run, gates).ConfigureAwait(false);
            }

            foreach (var gate in gates)
            {
                await lifecycle.Events.EmitGateAsync(run, gate).ConfigureAwait(false);
            }

            var values = new object?[gates.Length];
            for (var i = 0; i < gates.Length; i++)
            {
                var input = step.Node.Inputs.Gates[i];
                values[i] = input.Timeout is { } timeout
                    ? await WaitOrTimeOutAsync(run, gates[i], input, timeout - lifecycle.TimeProvider.GetElapsedTime(parkedAt)).ConfigureAwait(false)
                    : await gates[i].Value.WaitAsync(run.CancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < gates.Length; i++)
            {
                step.Node.Inputs.Gates[i].Property.SetValue(node, values[i]);
            }

            run.PreparedNode = node;
            if (run.Durable is { } resolved)
            {
                // The gate values are in the node now: resumed after a crash, the run does not ask again.
                await resolved.GatesResolvedAsync(run).ConfigureAwait(false);
            }

            run.Unpark(await step.Network.EnterAsync(run.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            // Cancelled while it waited (or, unexpectedly, anything else): the waiter still owns the run, and ends it.
            foreach (var gate in gates)
            {
                _gates.TryRemove(new KeyValuePair<string, PendingGate>(gate.Id, gate));
                gate.Cancel();
            }

            var stop = e is OperationCanceledException && run.IsStopRequested ? lifecycle.Stopped(run) : new RunStop(RunState.Failed, e);
            run.TakeForFinish();
            await lifecycle.FinishAsync(run, stop.State, null, stop.Error).ConfigureAwait(false);
            return;
        }

        // The run is Idle with a new slot: post it back, or, if the network no longer takes runs, end it.
        if (!step.Post(run) && run.TryTakeIdle())
        {
            var stop = lifecycle.Stopped(run);
            await lifecycle.FinishAsync(run, stop.State, null, stop.Error).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Waits for a gate with a timeout (counted from when the run reached it); at the timeout, the gate is withdrawn and
    /// takes its default, or the run fails with <see cref="Resilience.GateTimeoutException"/>. A resolution that won the
    /// race against the timeout stands.
    /// </summary>
    private async Task<object?> WaitOrTimeOutAsync(RunExecution run, PendingGate gate, GateProperty input, TimeSpan remaining)
    {
        try
        {
            return await gate.Value.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, lifecycle.TimeProvider, run.CancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            if (!_gates.TryRemove(new KeyValuePair<string, PendingGate>(gate.Id, gate)))
            {
                // Resolved in the same moment: Resolve removed it and is about to set its value.
                return await gate.Value.WaitAsync(run.CancellationToken).ConfigureAwait(false);
            }

            gate.Cancel();
            return input.UseDefault
                ? input.Default
                : throw new Resilience.GateTimeoutException(gate.Id, gate.NodeName, gate.Field, input.Timeout!.Value);
        }
    }

    public IReadOnlyList<PendingGate> ForRun(string runId)
        => [.. _gates.Values.Where(g => g.RunId == runId).OrderBy(g => g.Id, StringComparer.Ordinal)];
}

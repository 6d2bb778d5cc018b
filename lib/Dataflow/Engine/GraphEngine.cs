using System.Collections.Concurrent;
using System.Diagnostics;
using Dataflow.Diagnostics;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>
/// Runs graphs: compiles each graph once into a dataflow network, admits runs into it, tracks every run's
/// lifecycle, and publishes lifecycle events to <see cref="Events"/>. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Admission: each graph bounds its runs in flight (<see cref="GraphOptions.MaxRunsInFlight"/>).
/// <see cref="Submit"/> refuses a run beyond the bound with <see cref="RunRejectedException"/>;
/// <see cref="SubmitAsync"/> waits for room.</para>
/// <para>Shutdown: <see cref="DisposeAsync"/> stops admitting runs, then cancels the runs in flight (or, with
/// <see cref="GraphEngineOptions.CancelRunsOnDispose"/> off, lets them finish), waits until every run has
/// reached its final state and left its network, and finally drains every sink of <see cref="Events"/>.
/// A node that ignores its cancellation token is waited for. A run waiting at a gate cannot finish by itself,
/// so it is cancelled in either mode.</para>
/// </remarks>
public sealed class GraphEngine : IAsyncDisposable
{
    private readonly GraphEngineOptions _options;
    private readonly ConcurrentDictionary<Graph, GraphNetwork> _networks = new();
    private readonly Lock _networksGate = new();
    private readonly ConcurrentDictionary<string, GraphRun> _active = new(StringComparer.Ordinal);
    private readonly Lock _historyGate = new();
    private readonly Queue<GraphRun> _history = new();
    private readonly Dictionary<string, GraphRun> _historyById = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<string, PendingGate> _gates = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _backgroundDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<GraphRun> _cancelRun;
    private long _nextId;
    private long _undelivered;
    private int _background = 1;
    private int _disposed;

    /// <summary>Creates an engine.</summary>
    /// <param name="options">History, iteration limit, shutdown and clock options; copied.</param>
    /// <param name="events">The hub to publish to; a new one, owned and disposed by the engine, when null.</param>
    public GraphEngine(GraphEngineOptions? options = null, EventHub? events = null)
    {
        _options = (options ?? new GraphEngineOptions()).Validated();
        _cancelRun = CancelRun;
        Events = events ?? new EventHub(_options.TimeProvider);
        OwnsEvents = events is null;
    }

    /// <summary>The hub that the engine publishes lifecycle events to.</summary>
    public EventHub Events { get; }

    internal TimeProvider TimeProvider => _options.TimeProvider;

    private bool OwnsEvents { get; }

    /// <summary>
    /// Starts a run of <paramref name="graph"/> from <paramref name="start"/> and returns it at once, Running.
    /// </summary>
    /// <param name="graph">The graph.</param>
    /// <param name="start">The start node, fully formed; its type must be the graph's start type.</param>
    /// <param name="options">The run's policy and iteration limit.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The run.</returns>
    /// <exception cref="RunRejectedException">The graph already has <see cref="GraphOptions.MaxRunsInFlight"/> runs in flight.</exception>
    /// <exception cref="ObjectDisposedException">The engine is disposed.</exception>
    public GraphRun Submit(Graph graph, INode start, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var network = Prepare(graph, start, options);
        if (!network.TryEnter())
        {
            throw new RunRejectedException(
                $"The graph that starts at '{graph.StartName}' already has {graph.Options.MaxRunsInFlight} runs in flight (GraphOptions.MaxRunsInFlight); use SubmitAsync to wait for room, or raise the bound.");
        }

        return Launch(network, start, options, cancellationToken);
    }

    /// <summary>
    /// Starts a run like <see cref="Submit"/>, first waiting for room when the graph already has
    /// <see cref="GraphOptions.MaxRunsInFlight"/> runs in flight. Completes synchronously when there is room.
    /// </summary>
    /// <param name="graph">The graph.</param>
    /// <param name="start">The start node, fully formed; its type must be the graph's start type.</param>
    /// <param name="options">The run's policy and iteration limit.</param>
    /// <param name="cancellationToken">Stops waiting for room (throwing <see cref="OperationCanceledException"/>), then cancels the run.</param>
    /// <returns>The run, Running.</returns>
    /// <exception cref="ObjectDisposedException">The engine is disposed.</exception>
    public ValueTask<GraphRun> SubmitAsync(Graph graph, INode start, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var network = Prepare(graph, start, options);
        return network.TryEnter()
            ? new ValueTask<GraphRun>(Launch(network, start, options, cancellationToken))
            : WaitAndLaunchAsync(network, start, options, cancellationToken);
    }

    /// <summary>The runs that are Running or Waiting, oldest first.</summary>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<GraphRun> Active()
        => [.. _active.Values.Where(r => !r.State.IsFinal()).OrderBy(r => r.StartTimestamp)];

    /// <summary>Finds an active run, or a completed one still in the history.</summary>
    /// <param name="runId">The run's id, such as <c>g1</c>.</param>
    /// <returns>The run, or <see langword="null"/> when the engine does not know it (any more).</returns>
    public GraphRun? Get(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        if (_active.TryGetValue(runId, out var run))
        {
            return run;
        }

        lock (_historyGate)
        {
            return _historyById.GetValueOrDefault(runId);
        }
    }

    /// <summary>The completed runs still kept, oldest first (at most <see cref="GraphEngineOptions.HistoryCapacity"/>).</summary>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<GraphRun> History()
    {
        lock (_historyGate)
        {
            return [.. _history];
        }
    }

    /// <summary>
    /// Cancels a run. A run waiting in a buffer ends as Cancelled at once; a node that is executing sees its
    /// token cancelled, and the run ends as Cancelled when the node returns.
    /// </summary>
    /// <param name="runId">The run's id.</param>
    /// <returns><see langword="true"/> when the run was active; <see langword="false"/> for an unknown or ended run.</returns>
    public bool Cancel(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        if (!_active.TryGetValue(runId, out var run) || run.State.IsFinal())
        {
            return false;
        }

        CancelRun(run);
        return true;
    }

    /// <summary>How many gates wait for a value, over all runs.</summary>
    public int PendingGateCount => _gates.Count;

    /// <summary>Finds a gate that waits for a value.</summary>
    /// <param name="gateId">The gate's id, such as <c>g1.0</c>.</param>
    /// <returns>The gate, or <see langword="null"/> for an unknown or already resolved id.</returns>
    public PendingGate? GetPendingGate(string gateId)
    {
        ArgumentNullException.ThrowIfNull(gateId);
        return _gates.GetValueOrDefault(gateId);
    }

    /// <summary>The gates a run waits at, in id order.</summary>
    /// <param name="runId">The run's id.</param>
    /// <returns>A snapshot; empty when the run waits at none.</returns>
    public IReadOnlyList<PendingGate> PendingGatesForRun(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return [.. _gates.Values.Where(g => g.RunId == runId).OrderBy(g => g.Id, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Gives a gate its value. The run resumes once every gate of its node is resolved.
    /// </summary>
    /// <param name="gateId">The gate's id, such as <c>g1.0</c>.</param>
    /// <param name="value">The value; it must be of the gate's type (null only for a reference or nullable type).</param>
    /// <returns><see langword="true"/> when this call resolved the gate; <see langword="false"/> for an unknown or already resolved id.</returns>
    /// <exception cref="ArgumentException">The value is not of the gate's type; the gate stays pending.</exception>
    public bool ResolveGate(string gateId, object? value)
    {
        ArgumentNullException.ThrowIfNull(gateId);
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

    /// <summary>
    /// Stops admitting runs; cancels the runs in flight or lets them finish (<see cref="GraphEngineOptions.CancelRunsOnDispose"/>);
    /// returns once every run has reached its final state and the event sinks are drained.
    /// </summary>
    /// <returns>A task that completes when the engine has shut down.</returns>
    public async ValueTask DisposeAsync()
    {
        lock (_networksGate)
        {
            // Under the lock that creates networks, so that every network is disposed below.
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
        }

        if (_options.CancelRunsOnDispose)
        {
            await _shutdown.CancelAsync().ConfigureAwait(false);
            foreach (var run in _active.Values)
            {
                CancelRun(run);
            }
        }
        else
        {
            // A run waiting at a gate cannot finish by itself: it is cancelled either way.
            foreach (var run in _active.Values.Where(r => r.State == RunState.Waiting))
            {
                CancelRun(run);
            }
        }

        foreach (var network in _networks.Values)
        {
            await network.DisposeAsync().ConfigureAwait(false);
        }

        if (Interlocked.Decrement(ref _background) == 0)
        {
            _backgroundDone.TrySetResult();
        }

        await _backgroundDone.Task.ConfigureAwait(false);
        if (OwnsEvents)
        {
            await Events.DisposeAsync().ConfigureAwait(false);
        }

        _shutdown.Dispose();
    }

    internal OperationCanceledException CancelledError(GraphRun run)
        => _shutdown.IsCancellationRequested
            ? new OperationCanceledException($"Run {run.Id} was cancelled: the engine is shutting down.")
            : new OperationCanceledException($"Run {run.Id} was cancelled.");

    internal ValueTask EmitStartAsync(GraphRun run)
    {
        if (run.StartEmitted)
        {
            return default;
        }

        run.StartEmitted = true;
        return run.Policy.Admits(EventKind.Start)
            ? PublishAsync(new GraphEvent(run.Id, EventKind.Start, $"{run.Id} started", run.StartedAt, run.NextSequence())
            {
                Graph = run.Graph.StartName,
                Node = run.Graph.StartName,
            })
            : default;
    }

    internal ValueTask EmitTransitionAsync(GraphRun run, string from, string to)
        => run.Policy.Admits(EventKind.Transition)
            ? PublishAsync(new GraphEvent(run.Id, EventKind.Transition, $"{run.Id} {from} -> {to}", TimeProvider.GetUtcNow(), run.NextSequence())
            {
                Graph = run.Graph.StartName,
                Node = from,
                NextNode = to,
            })
            : default;

    /// <summary>Moves a run that the caller owns to its final state, emits its final event and signals its completion.</summary>
    internal async ValueTask FinishAsync(GraphRun run, RunState state, INode? result, Exception? error)
    {
        if (!run.TryFinish(state, result, error))
        {
            return;
        }

        var kind = state switch
        {
            RunState.Done => EventKind.Complete,
            RunState.Failed => EventKind.Fail,
            _ => EventKind.Cancel,
        };

        try
        {
            if (run.Policy.Admits(kind))
            {
                var elapsed = (run.EndedAt!.Value - run.StartedAt).TotalMilliseconds;
                var node = run.Graph.NameOf(run.CurrentNode.GetType());
                var content = state switch
                {
                    RunState.Done => $"{run.Id} done ({GraphEvent.Seconds(elapsed)})",
                    RunState.Failed => $"{run.Id} failed: {run.Error}",
                    _ => $"{run.Id} cancelled",
                };
                await PublishAsync(new GraphEvent(run.Id, kind, content, run.EndedAt.Value, run.NextSequence())
                {
                    Graph = run.Graph.StartName,
                    Node = node,
                    DurationMs = elapsed,
                    Error = state == RunState.Done ? null : run.Error,
                }).ConfigureAwait(false);
            }
        }
        finally
        {
            Record(run, state);
            run.SignalCompletion();
        }
    }

    /// <summary>Events that could not be published because the hub was disposed before the engine.</summary>
    public long UndeliveredEvents => Interlocked.Read(ref _undelivered);

    private ValueTask PublishAsync(GraphEvent graphEvent)
    {
        try
        {
            var pending = Events.PublishAsync(graphEvent);
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

    /// <summary>
    /// Registers a gate per gate input of the node and waits, outside the network, until all are resolved;
    /// then fills the inputs and hands the run back to its block. The waiting task owns the run meanwhile.
    /// </summary>
    internal void WaitAtGates(GraphRun run, GraphNetwork.Step step, INode node)
    {
        var gates = step.Node.Inputs.Gates
            .Select(g => new PendingGate($"{run.Id}.{run.NextGateNumber++}", run.Id, g.Property.Name, g.Property.PropertyType, g.Description, step.NodeType, step.Name))
            .ToArray();
        run.TrySetWaiting(true);
        foreach (var gate in gates)
        {
            _gates[gate.Id] = gate;
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            // The engine is shutting down and nobody may ever resolve these gates (DisposeAsync cancels the runs
            // that were Waiting when it began; this one arrived later).
            run.RequestCancel();
        }

        Interlocked.Increment(ref _background);
        _ = WaitAtGatesAsync(run, step, node, gates);
    }

    private async Task WaitAtGatesAsync(GraphRun run, GraphNetwork.Step step, INode node, PendingGate[] gates)
    {
        try
        {
            foreach (var gate in gates)
            {
                if (run.Policy.Admits(EventKind.Gate))
                {
                    await PublishAsync(new GraphEvent(run.Id, EventKind.Gate, $"{run.Id} waiting at gate {gate.Id}: {gate.Display}", TimeProvider.GetUtcNow(), run.NextSequence())
                    {
                        Graph = run.Graph.StartName,
                        Node = step.Name,
                        Extra = new Dictionary<string, object?>
                        {
                            ["gate_id"] = gate.Id,
                            ["field"] = gate.Field,
                            ["gate_type"] = TypeNames.Of(gate.Type),
                            ["description"] = gate.Description,
                        },
                    }).ConfigureAwait(false);
                }
            }

            var values = new object?[gates.Length];
            try
            {
                for (var i = 0; i < gates.Length; i++)
                {
                    values[i] = await gates[i].Value.WaitAsync(run.CancellationToken).ConfigureAwait(false);
                }

                for (var i = 0; i < gates.Length; i++)
                {
                    step.Node.Inputs.Gates[i].Property.SetValue(node, values[i]);
                }

                run.PreparedNode = node;
                run.TrySetWaiting(false);
                await step.Network.EnterAsync(run.CancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (run.CancellationToken.IsCancellationRequested)
            {
                foreach (var gate in gates)
                {
                    _gates.TryRemove(new KeyValuePair<string, PendingGate>(gate.Id, gate));
                    gate.Cancel();
                }

                await FinishAsync(run, RunState.Cancelled, null, CancelledError(run)).ConfigureAwait(false);
                return;
            }

            if (!GraphNetwork.Resume(run, step))
            {
                if (run.TryClaimForFinish())
                {
                    await FinishAsync(run, RunState.Cancelled, null, CancelledError(run)).ConfigureAwait(false);
                }

                step.Network.Leave();
            }
        }
        catch (Exception e)
        {
            // A boundary: whatever went wrong here must still leave the run in a final state.
            await FinishAsync(run, RunState.Failed, null, e).ConfigureAwait(false);
        }
        finally
        {
            if (Interlocked.Decrement(ref _background) == 0)
            {
                _backgroundDone.TrySetResult();
            }
        }
    }

    private void CancelRun(GraphRun run)
    {
        run.RequestCancel();
        if (run.TryClaimForFinish())
        {
            // The run sits in a buffer: nobody else will touch it until a block dequeues it and lets it go.
            Interlocked.Increment(ref _background);
            _ = FinishClaimedAsync(run, RunState.Cancelled, null, CancelledError(run), leave: null);
        }
    }

    /// <summary>
    /// Finishes a run that the caller claimed outside any block (cancelled in a buffer, or a start node that is
    /// already terminal); counted as background work that DisposeAsync waits for.
    /// </summary>
    private async Task FinishClaimedAsync(GraphRun run, RunState state, INode? result, Exception? error, GraphNetwork? leave)
    {
        try
        {
            await EmitStartAsync(run).ConfigureAwait(false);
            await FinishAsync(run, state, result, error).ConfigureAwait(false);
        }
        finally
        {
            leave?.Leave();
            if (Interlocked.Decrement(ref _background) == 0)
            {
                _backgroundDone.TrySetResult();
            }
        }
    }

    private void Record(GraphRun run, RunState state)
    {
        _active.TryRemove(run.Id, out _);
        if (_options.HistoryCapacity > 0)
        {
            lock (_historyGate)
            {
                _history.Enqueue(run);
                _historyById[run.Id] = run;
                while (_history.Count > _options.HistoryCapacity)
                {
                    _historyById.Remove(_history.Dequeue().Id);
                }
            }
        }

        var outcome = state switch
        {
            RunState.Done => "done",
            RunState.Failed => "failed",
            _ => "cancelled",
        };
        var tag = new KeyValuePair<string, object?>("dataflow.outcome", outcome);
        if (DataflowTelemetry.RunsCompleted.Enabled)
        {
            DataflowTelemetry.RunsCompleted.Add(1, tag);
        }

        if (state == RunState.Failed && DataflowTelemetry.RunsFailed.Enabled)
        {
            DataflowTelemetry.RunsFailed.Add(1);
        }

        if (DataflowTelemetry.RunDuration.Enabled)
        {
            DataflowTelemetry.RunDuration.Record(run.Elapsed.TotalMilliseconds, tag);
        }

        if (run.Activity is { } activity)
        {
            activity.SetTag("dataflow.outcome", outcome);
            if (state == RunState.Failed)
            {
                activity.SetStatus(ActivityStatusCode.Error, run.Error);
            }

            activity.Stop();
        }
    }

    private GraphNetwork Prepare(Graph graph, INode start, RunOptions? options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(start);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (start.GetType() != graph.Start)
        {
            throw new ArgumentException($"The start node is a '{start.GetType().Name}', but the graph starts at '{graph.StartName}'.", nameof(start));
        }

        if (options is not null)
        {
            if (options.MaxIterations is < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(options), options.MaxIterations, "RunOptions.MaxIterations must be 0 (no limit) or positive.");
            }

            if (!Enum.IsDefined(options.Policy))
            {
                throw new ArgumentOutOfRangeException(nameof(options), options.Policy, "RunOptions.Policy is not an OutputPolicy.");
            }
        }

        if (_networks.TryGetValue(graph, out var network))
        {
            return network;
        }

        lock (_networksGate)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _networks.GetOrAdd(graph, g => new GraphNetwork(this, g));
        }
    }

    private async ValueTask<GraphRun> WaitAndLaunchAsync(GraphNetwork network, INode start, RunOptions? options, CancellationToken cancellationToken)
    {
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token))
        {
            try
            {
                await network.EnterAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_shutdown.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new ObjectDisposedException(nameof(GraphEngine), "The engine was disposed while the run waited for admission.");
            }
        }

        return Launch(network, start, options, cancellationToken);
    }

    private GraphRun Launch(GraphNetwork network, INode start, RunOptions? options, CancellationToken cancellationToken)
    {
        var id = "g" + Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var run = new GraphRun(
            id,
            network.Graph,
            start,
            options?.Policy ?? OutputPolicy.Normal,
            options?.MaxIterations ?? _options.MaxIterations,
            _options.TimeProvider,
            _options.TrackMemory,
            _options.Services);
        if (DataflowTelemetry.ActivitySource.HasListeners())
        {
            var previous = Activity.Current;
            run.Activity = DataflowTelemetry.ActivitySource.StartActivity("dataflow.run", ActivityKind.Internal);
            run.Activity?.SetTag("dataflow.run_id", id);
            run.Activity?.SetTag("dataflow.graph", network.Graph.StartName);
            Activity.Current = previous;
        }

        if (DataflowTelemetry.RunsStarted.Enabled)
        {
            DataflowTelemetry.RunsStarted.Add(1);
        }

        if (network.StartStep.Block is null)
        {
            // The start node is itself terminal: the run is done before it begins. Claimed before anyone can see it.
            run.TryClaimForFinish();
            _active[id] = run;
            Interlocked.Increment(ref _background);
            _ = FinishClaimedAsync(run, RunState.Done, start, null, network);
            return run;
        }

        _active[id] = run;
        run.LinkCancellation(cancellationToken, _cancelRun);

        if (!network.Dispatch(run))
        {
            // Only a disposing engine stops taking runs; this one never entered a block.
            network.Leave();
            _active.TryRemove(id, out _);
            throw new ObjectDisposedException(nameof(GraphEngine));
        }

        if (Volatile.Read(ref _disposed) != 0 && _options.CancelRunsOnDispose)
        {
            // Raced with DisposeAsync, which may not have seen this run: cancel it here.
            CancelRun(run);
        }

        return run;
    }
}

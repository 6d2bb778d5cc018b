using System.Collections.Concurrent;
using Dataflow.Events;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// Runs graphs: compiles each graph once into a dataflow network, admits runs into it, tracks every run's
/// lifecycle, and publishes lifecycle events to <see cref="Events"/>. Thread-safe.
/// </summary>
/// <remarks>
/// <para>Admission: each graph bounds its runs in flight (<see cref="GraphOptions.MaxRunsInFlight"/>).
/// <see cref="Submit"/> refuses a run beyond the bound with <see cref="RunRejectedException"/>;
/// <see cref="SubmitAsync"/> waits for room.</para>
/// <para>Shutdown: <see cref="DisposeAsync"/> stops admitting runs (a <see cref="SubmitAsync"/> still waiting for room
/// throws <see cref="ObjectDisposedException"/>), then cancels the runs in flight (or, with
/// <see cref="GraphEngineOptions.CancelRunsOnDispose"/> off, lets them finish), waits until every run has
/// reached its final state and left its network, and finally drains every sink of <see cref="Events"/>.
/// A node that ignores its cancellation token is waited for (unless it has a timeout: then only until the token fires).
/// A run waiting at a gate cannot finish by itself, and one in a backoff would come back to a network that is shutting
/// down, and the children of a run waiting for them would enter one, so all three are cancelled in either mode (a
/// parent's children with it).</para>
/// <para>The engine is a front: the runs' ownership scheme is in <see cref="RunExecution"/>, the compiled
/// networks in <see cref="GraphNetwork"/> and <see cref="NetworkStep"/>, ending, cancelling and expiring runs in
/// <see cref="RunLifecycle"/>, ids and history in <see cref="RunRegistry"/>, gates in <see cref="GateCoordinator"/>,
/// backoffs in <see cref="Resilience.BackoffWaiter"/>,
/// events in <see cref="RunEvents"/>, telemetry in <see cref="RunInstrumentation"/>.</para>
/// </remarks>
public sealed partial class GraphEngine : IAsyncDisposable
{
    private readonly GraphEngineOptions _options;
    private readonly RunLifecycle _lifecycle;
    private readonly ConcurrentDictionary<Graph, GraphNetwork> _networks = new();
    private readonly Lock _networksGate = new();
    private readonly CancellationTokenSource _stopAdmitting = new();
    private readonly bool _ownsEvents;
    private int _disposed;

    /// <summary>Creates an engine.</summary>
    /// <param name="options">History, iteration limit, shutdown and clock options; validated and copied.</param>
    /// <param name="events">The hub to publish to; a new one, owned and disposed by the engine, when null.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message lists every problem.</exception>
    public GraphEngine(GraphEngineOptions? options = null, EventHub? events = null)
    {
        _options = (options ?? new GraphEngineOptions()).Validated();
        Events = events ?? new EventHub(_options.TimeProvider);
        _ownsEvents = events is null;
        _lifecycle = new RunLifecycle(_options, Events) { Networks = SubgraphNetwork };
    }

    /// <summary>The hub that the engine publishes lifecycle events to.</summary>
    public EventHub Events { get; }

    /// <summary>Events that could not be published because the hub was disposed before the engine.</summary>
    public long UndeliveredEvents => _lifecycle.Events.Undelivered;

    /// <summary>How many gates wait for a value, over all runs.</summary>
    public int PendingGateCount => _lifecycle.Gates.Count;

    /// <summary>
    /// Starts a run of <paramref name="graph"/> from <paramref name="start"/> and returns it at once, Running.
    /// </summary>
    /// <param name="graph">The graph.</param>
    /// <param name="start">The start node, fully formed; its type must be the graph's start type.</param>
    /// <param name="options">The run's policy and iteration limit; read once, here.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The run.</returns>
    /// <exception cref="RunRejectedException">The graph already has <see cref="GraphOptions.MaxRunsInFlight"/> runs in flight.</exception>
    /// <exception cref="ObjectDisposedException">The engine is disposed.</exception>
    /// <exception cref="ArgumentException">The start node does not fit the graph, or an option is invalid.</exception>
    public GraphRun Submit(Graph graph, INode start, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (network, settings) = Prepare(graph, start, options);
        if (!network.TryEnter(out var lease))
        {
            throw new RunRejectedException(
                $"The graph that starts at '{graph.StartName}' already has {graph.Options.MaxRunsInFlight} runs in flight (GraphOptions.MaxRunsInFlight); use SubmitAsync to wait for room, or raise the bound.");
        }

        return Launch(network, start, settings, lease, cancellationToken);
    }

    /// <summary>
    /// Starts a run like <see cref="Submit"/>, first waiting for room when the graph already has
    /// <see cref="GraphOptions.MaxRunsInFlight"/> runs in flight. Completes synchronously when there is room.
    /// </summary>
    /// <param name="graph">The graph.</param>
    /// <param name="start">The start node, fully formed; its type must be the graph's start type.</param>
    /// <param name="options">The run's policy and iteration limit; read once, before any wait.</param>
    /// <param name="cancellationToken">Stops waiting for room (throwing <see cref="OperationCanceledException"/>), then cancels the run.</param>
    /// <returns>The run, Running.</returns>
    /// <exception cref="ObjectDisposedException">The engine is disposed, also while this call waited for room.</exception>
    /// <exception cref="ArgumentException">The start node does not fit the graph, or an option is invalid.</exception>
    public ValueTask<GraphRun> SubmitAsync(Graph graph, INode start, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var (network, settings) = Prepare(graph, start, options);
        return network.TryEnter(out var lease)
            ? new ValueTask<GraphRun>(Launch(network, start, settings, lease, cancellationToken))
            : WaitAndLaunchAsync(network, start, settings, cancellationToken);
    }

    /// <summary>The runs that are Running or Waiting, oldest first.</summary>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<GraphRun> Active()
        => [.. _lifecycle.Registry.ActiveRuns.Where(r => !r.State.IsFinal()).OrderBy(r => r.StartTimestamp).Select(r => r.View)];

    /// <summary>Finds an active run, or a completed one still in the history.</summary>
    /// <param name="runId">The run's id, such as <c>g1</c>.</param>
    /// <returns>The run, or <see langword="null"/> when the engine does not know it (any more).</returns>
    public GraphRun? Get(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return _lifecycle.Registry.Find(runId)?.View;
    }

    /// <summary>The completed runs still kept, oldest first (at most <see cref="GraphEngineOptions.HistoryCapacity"/>).</summary>
    /// <returns>A snapshot.</returns>
    public IReadOnlyList<GraphRun> History() => [.. _lifecycle.Registry.History().Select(r => r.View)];

    /// <summary>
    /// Cancels a run. A run waiting in a buffer, at a gate or in a backoff ends as Cancelled at once; a node that is executing sees
    /// its token cancelled, and the run ends as Cancelled when the node returns, whatever the node returned.
    /// </summary>
    /// <param name="runId">The run's id.</param>
    /// <returns><see langword="true"/> when the run was active; <see langword="false"/> for an unknown or ended run.</returns>
    public bool Cancel(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return _lifecycle.Registry.Find(runId) is { } run && _lifecycle.Cancel(run);
    }

    /// <summary>Finds a gate that waits for a value.</summary>
    /// <param name="gateId">The gate's id, such as <c>g1.0</c>.</param>
    /// <returns>The gate, or <see langword="null"/> for an unknown or already resolved id.</returns>
    public PendingGate? GetPendingGate(string gateId)
    {
        ArgumentNullException.ThrowIfNull(gateId);
        return _lifecycle.Gates.Find(gateId);
    }

    /// <summary>The gates a run waits at, in id order.</summary>
    /// <param name="runId">The run's id.</param>
    /// <returns>A snapshot; empty when the run waits at none.</returns>
    public IReadOnlyList<PendingGate> PendingGatesForRun(string runId)
    {
        ArgumentNullException.ThrowIfNull(runId);
        return _lifecycle.Gates.ForRun(runId);
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
        return _lifecycle.Gates.Resolve(gateId, value);
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

        _lifecycle.BeginShutdown();
        await _stopAdmitting.CancelAsync().ConfigureAwait(false);
        foreach (var run in _lifecycle.Registry.ActiveRuns)
        {
            if (_options.CancelRunsOnDispose || run.State == RunState.Waiting)
            {
                _lifecycle.Cancel(run);
            }
        }

        foreach (var network in _networks.Values)
        {
            await network.DisposeAsync().ConfigureAwait(false);
        }

        await _lifecycle.Background.DrainAsync().ConfigureAwait(false);
        if (_ownsEvents)
        {
            await Events.DisposeAsync().ConfigureAwait(false);
        }

        _stopAdmitting.Dispose();
    }

    private (GraphNetwork Network, RunSettings Settings) Prepare(Graph graph, INode start, RunOptions? options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(start);
        if (start.GetType() != graph.Start)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            throw new ArgumentException($"The start node is a '{start.GetType().Name}', but the graph starts at '{graph.StartName}'.", nameof(start));
        }

        return Prepare(graph, options);
    }

    /// <summary>The graph's network (made on first use) and the runs' settings, checked once.</summary>
    private (GraphNetwork Network, RunSettings Settings) Prepare(Graph graph, RunOptions? options)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var settings = RunOptions.Settle(options, _options);
        if (_networks.TryGetValue(graph, out var network))
        {
            return (network, settings);
        }

        lock (_networksGate)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return (NetworkFor(graph), settings);
        }
    }

    /// <summary>The network that a subgraph's runs go into, made on first use; null once the engine is disposed.</summary>
    private GraphNetwork? SubgraphNetwork(Graph graph)
    {
        if (_networks.TryGetValue(graph, out var network))
        {
            return network;
        }

        lock (_networksGate)
        {
            return Volatile.Read(ref _disposed) != 0 ? null : NetworkFor(graph);
        }
    }

    private async ValueTask<GraphRun> WaitAndLaunchAsync(GraphNetwork network, INode start, RunSettings settings, CancellationToken cancellationToken)
    {
        var lease = await WaitForRoomAsync(network, cancellationToken).ConfigureAwait(false);
        return Launch(network, start, settings, lease, cancellationToken);
    }

    /// <summary>Waits for an admission slot while the graph is full; refuses once the engine is being disposed.</summary>
    private async ValueTask<AdmissionLease> WaitForRoomAsync(GraphNetwork network, CancellationToken cancellationToken)
    {
        AdmissionLease lease;
        // A caller's token that can never be cancelled needs no linked source: the engine's own token is enough. A
        // batch without a token waits here every few dozen runs, and the linked source was most of what a wait made.
        var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopAdmitting.Token) : null;
        try
        {
            await network.WaitForSlotAsync(linked?.Token ?? _stopAdmitting.Token).ConfigureAwait(false);
            lease = network.Admitted();
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(GraphEngine), "The engine was disposed while the run waited for admission.");
        }
        finally
        {
            linked?.Dispose();
        }

        if (Volatile.Read(ref _disposed) != 0)
        {
            // Admitted in the same moment as disposal began: disposal does not wait for runs it may not see.
            lease.Return();
            throw new ObjectDisposedException(nameof(GraphEngine), "The engine was disposed while the run waited for admission.");
        }

        return lease;
    }

    private GraphRun Launch(GraphNetwork network, INode start, RunSettings settings, AdmissionLease lease, CancellationToken cancellationToken)
    {
        var registry = _lifecycle.Registry;
        RunExecution run;
        try
        {
            run = new RunExecution(registry.NextNumber(), start, settings, lease);
        }
        catch
        {
            // GraphEngineOptions.RunServices threw: the run never existed.
            lease.Return();
            throw;
        }

        if (network.Recorder is { } recorder)
        {
            run.Durable = new Checkpoints.DurableRun(recorder);
        }

        // Counted before anything can end it, so that the batch cannot see its last run end before this one began.
        settings.Batch?.Add();
        RunInstrumentation.RunStarted(run);
        registry.Add(run);
        if (network.StartStep.Block is null)
        {
            // The start node is itself terminal: the run is done before it begins. Taken before anyone can see it.
            run.TryTakeIdle();
            _lifecycle.Background.Track(_lifecycle.EndTakenAsync(run, RunState.Done, start, null).AsTask());
            return run.View;
        }

        if (run.Durable is { } durable)
        {
            DispatchWhenStarted(network.StartStep, run, durable);
        }
        else if (!network.Dispatch(run))
        {
            // Only a disposing engine stops taking runs; this one never entered a block.
            run.ReleaseAdmission();
            registry.Remove(run);
            settings.Batch?.Withdraw();
            throw new ObjectDisposedException(nameof(GraphEngine));
        }

        run.LinkCancellation(cancellationToken);
        run.StartDeadline();

        if (Volatile.Read(ref _disposed) != 0 && _options.CancelRunsOnDispose)
        {
            // Raced with DisposeAsync, which may not have seen this run: cancel it here.
            _lifecycle.Cancel(run);
        }

        return run.View;
    }
}

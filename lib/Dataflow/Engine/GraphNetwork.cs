using System.Collections.Frozen;
using System.Threading.Tasks.Dataflow;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// One graph compiled into a TPL Dataflow network: an <see cref="ActionBlock{T}"/> per non-terminal node
/// type with its own parallelism, fed with runs. A block executes a run's current node and posts the run
/// to the block of the node type that came back. One network serves every run of its graph on an engine.
/// </summary>
/// <remarks>
/// Why bounded parallelism cannot deadlock, cycles included: a block never waits for room in another
/// block. Every block's input buffer is unbounded, so handing a run on is a <c>Post</c> that always succeeds
/// at once, and a node slot is freed as soon as its node returns. What bounds memory is admission: a run
/// holds one of <see cref="GraphOptions.MaxRunsInFlight"/> slots (an <see cref="AdmissionLease"/>) from submit
/// until it leaves the network, and a run is in exactly one buffer or one node at a time, so all buffers together
/// never hold more live runs than that bound. With no wait-for edge between blocks there is no cycle of waits,
/// whatever the graph's shape. A run at a gate has left: it holds no slot, and takes one again to come back.
/// <para><b>Fan-outs and subgraphs cannot deadlock either.</b> A parent whose node returned a fan-out leaves the network
/// like a run at a gate: it gives back its node slot (its step returns) and its admission slot before any child starts,
/// and takes a new slot only when every child has ended, to run its join. Its children are ordinary runs: each takes an
/// admission slot of its network through the same gate as a submit (waiting, never failing) and gives it back
/// when it ends, parks, or fans out in turn. So every slot is held by a run that is executing or buffered, and such a
/// run needs nothing from any other run to reach its end or its next park: the slots always come free, whoever waits
/// for them. In the worst shape (one admission slot, parallelism 1 everywhere, every run a parent whose children fan
/// out again) the parents all wait outside, holding nothing, while the slot serves one child at a time, the deepest
/// first to finish; nothing waits for a slot that a waiter holds. The bound on children in flight only throttles how
/// many of one parent's children wait for admission; it is counted outside the network and frees as children end.</para>
/// <para>Runs reach a step whose code does not block through its <see cref="StepQueue"/>, which keeps the step's
/// parallelism as its node slots: a run that moves on to a step with a free slot and nobody queued before it executes
/// there at once, in the same flow, holding that slot, instead of queueing; otherwise it is queued, which never
/// waits either. A blocking step keeps an <see cref="ActionBlock{TInput}"/> on threads of its own.</para>
/// </remarks>
internal sealed class GraphNetwork : IAsyncDisposable
{
    /// <summary>The most threads one blocking node type gets, whatever its parallelism.</summary>
    internal const int MaxBlockingThreads = 256;

    private readonly FrozenDictionary<Type, NetworkStep> _steps;
    private readonly AdmissionGate _admission;
    private readonly List<DedicatedThreadScheduler> _schedulers = [];
    private readonly CountdownSignal _inFlight = new();

    public GraphNetwork(IRunHost host, Graph graph)
    {
        Host = host;
        Graph = graph;
        var options = graph.Options;
        _admission = new AdmissionGate(options.MaxRunsInFlight);
        _steps = graph.NodeInfos.ToFrozenDictionary(node => node.Type, node => new NetworkStep(this, node));
        foreach (var node in graph.NodeInfos)
        {
            if (!node.IsTerminal)
            {
                var step = _steps[node.Type];
                step.Block = CreateBlock(step, node, options);
            }
        }
    }

    public Graph Graph { get; }

    /// <summary>Records the checkpoints of the graph's runs when the graph is durable; null otherwise.</summary>
    public Checkpoints.CheckpointRecorder? Recorder { get; init; }

    public IRunHost Host { get; }

    public NetworkStep StartStep => _steps[Graph.Start];

    /// <summary>Runs inside the network now (holding a slot).</summary>
    public int InFlight => _inFlight.Count;

    public NetworkStep? StepFor(Type nodeType) => _steps.GetValueOrDefault(nodeType);

    /// <summary>Takes an admission slot if one is free.</summary>
    public bool TryEnter(out AdmissionLease lease)
    {
        if (!_admission.TryEnter())
        {
            lease = default;
            return false;
        }

        _inFlight.Add();
        lease = new AdmissionLease(this);
        return true;
    }

    /// <summary>Waits for an admission slot.</summary>
    public async ValueTask<AdmissionLease> EnterAsync(CancellationToken cancellationToken)
    {
        await WaitForSlotAsync(cancellationToken).ConfigureAwait(false);
        return Admitted();
    }

    /// <summary>
    /// Takes an admission slot, waiting until one is free; the caller then calls <see cref="Admitted"/> at once. The
    /// two halves of <see cref="EnterAsync"/>, for a caller that is async anyway: a wait then makes no frame of its own.
    /// </summary>
    public ValueTask WaitForSlotAsync(CancellationToken cancellationToken) => _admission.EnterAsync(cancellationToken);

    /// <summary>Counts a slot taken by <see cref="WaitForSlotAsync"/> as a run in flight: its lease.</summary>
    public AdmissionLease Admitted()
    {
        _inFlight.Add();
        return new AdmissionLease(this);
    }

    /// <summary>Gives a slot back: the run that held it (once), or the taker of a lease that never reached a run.</summary>
    public void Leave()
    {
        _admission.Leave();
        _inFlight.Signal();
    }

    /// <summary>Hands a new run to the start block. False when the network no longer takes runs.</summary>
    public bool Dispatch(RunExecution run) => StartStep.Post(run);

    /// <summary>Waits until every run has left and every step visit has ended, then completes every block and stops the blocking threads.</summary>
    public async ValueTask DisposeAsync()
    {
        await _inFlight.Close().ConfigureAwait(false);
        var visits = new List<Task>();
        foreach (var step in _steps.Values)
        {
            if (step.Queue is not null)
            {
                visits.Add(step.Queue.Complete());
            }

            step.Block?.Complete();
        }

        // The runs have left, but a step may still be on its way out of its last visit (which may have started work to track).
        await Task.WhenAll(visits).ConfigureAwait(false);
        foreach (var step in _steps.Values)
        {
            if (step.Block is not null)
            {
                await step.Block.Completion.ConfigureAwait(false);
            }
        }

        foreach (var scheduler in _schedulers)
        {
            scheduler.Dispose();
        }
    }

    private ActionBlock<RunExecution> CreateBlock(NetworkStep step, GraphNode node, GraphOptions options)
    {
        var nodeOptions = options.Nodes.TryGetValue(node.Type, out var o) ? o : null;
        var blocking = nodeOptions?.Blocking ?? node.Type.IsDefined(typeof(BlockingNodeAttribute), inherit: true);
        var parallelism = nodeOptions?.MaxDegreeOfParallelism ?? options.MaxDegreeOfParallelism;
        if (!blocking)
        {
            // Runs go to the step's queue (see StepQueue). The block only forwards what is posted to it directly: it cannot
            // be refused while a run is in flight, as the queues are completed only once every run has left.
            var queue = step.Queue = new StepQueue(step, parallelism);
            return new ActionBlock<RunExecution>(run => _ = queue.Post(run));
        }

        // Blocking code gets threads of its own, started as needed up to its parallelism; the thread pool stays free.
        var threads = parallelism == GraphOptions.Unbounded ? options.MaxRunsInFlight : parallelism;
        var scheduler = new DedicatedThreadScheduler(node.Name, Math.Min(threads, MaxBlockingThreads));
        _schedulers.Add(scheduler);
        return new ActionBlock<RunExecution>(step.ExecuteAsync, new ExecutionDataflowBlockOptions
        {
            MaxDegreeOfParallelism = scheduler.MaximumConcurrencyLevel,
            EnsureOrdered = false,
            BoundedCapacity = DataflowBlockOptions.Unbounded,
            TaskScheduler = scheduler,
        });
    }
}

using System.Collections.Frozen;
using System.Diagnostics;
using System.Reflection;
using System.Threading.Tasks.Dataflow;
using Dataflow.Diagnostics;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

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
/// holds one of <see cref="GraphOptions.MaxRunsInFlight"/> slots from submit until it leaves the network,
/// and a run is in exactly one buffer or one node at a time, so all buffers together never hold more runs
/// than that bound. With no wait-for edge between blocks there is no cycle of waits, whatever the graph's shape.
/// <para>One shortcut: when a run moves from one asynchronous node type without a parallelism bound to another,
/// the next node executes at once in the same flow instead of queueing in its block. Such a block would bound
/// nothing and only add a hand-off; the run stays in flight under admission as before.</para>
/// </remarks>
internal sealed class GraphNetwork : IAsyncDisposable
{
    private static readonly MethodInfo InvokeDefinition = typeof(GraphNetwork).GetMethod(nameof(Invoke), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static readonly MethodInfo ResultOfDefinition = typeof(GraphNetwork).GetMethod(nameof(ResultOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>The most threads one blocking node type gets, whatever its parallelism.</summary>
    internal const int MaxBlockingThreads = 256;

    private readonly GraphEngine _engine;
    private readonly FrozenDictionary<Type, Step> _steps;
    private readonly SemaphoreSlim _admission;
    private readonly List<DedicatedThreadScheduler> _schedulers = [];
    private readonly TaskCompletionSource _emptied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _closing;

    public GraphNetwork(GraphEngine engine, Graph graph)
    {
        _engine = engine;
        Graph = graph;
        var options = graph.Options;
        _admission = new SemaphoreSlim(options.MaxRunsInFlight, options.MaxRunsInFlight);
        var steps = new Dictionary<Type, Step>();
        foreach (var node in graph.NodeInfos)
        {
            steps[node.Type] = new Step(this, node);
        }

        _steps = steps.ToFrozenDictionary();
        foreach (var node in graph.NodeInfos)
        {
            if (!node.IsTerminal)
            {
                _steps[node.Type].Block = CreateBlock(_steps[node.Type], node, options, out var inline);
                _steps[node.Type].RunsInline = inline;
            }
        }
    }

    public Graph Graph { get; }

    public Step StartStep => _steps[Graph.Start];

    public bool TryEnter()
    {
        if (!_admission.Wait(0))
        {
            return false;
        }

        Interlocked.Increment(ref _inFlight);
        return true;
    }

    public async ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        await _admission.WaitAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _inFlight);
    }

    /// <summary>A run has left the network for good: its slot goes to the next run.</summary>
    public void Leave()
    {
        _admission.Release();
        if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _closing) == 1)
        {
            _emptied.TrySetResult();
        }
    }

    /// <summary>Hands a new run to the start block. False when the network no longer takes runs.</summary>
    public bool Dispatch(GraphRun run) => StartStep.Block!.Post(run);

    /// <summary>Hands a run back to a block after it waited outside (at a gate). False when the network no longer takes runs.</summary>
    public static bool Resume(GraphRun run, Step step)
    {
        run.Unclaim();
        return step.Block!.Post(run);
    }

    /// <summary>Waits until every run has left, then completes every block and stops the blocking threads.</summary>
    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _closing, 1);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            _emptied.TrySetResult();
        }

        await _emptied.Task.ConfigureAwait(false);
        foreach (var step in _steps.Values)
        {
            step.Block?.Complete();
        }

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

    private ActionBlock<GraphRun> CreateBlock(Step step, GraphNode node, GraphOptions options, out bool runsInline)
    {
        var nodeOptions = options.Nodes.TryGetValue(node.Type, out var o) ? o : null;
        var blocking = nodeOptions?.Blocking ?? node.Type.IsDefined(typeof(BlockingNodeAttribute), inherit: true);
        var parallelism = nodeOptions?.MaxDegreeOfParallelism ?? options.MaxDegreeOfParallelism;
        var blockOptions = new ExecutionDataflowBlockOptions
        {
            MaxDegreeOfParallelism = parallelism,
            EnsureOrdered = false,
            BoundedCapacity = DataflowBlockOptions.Unbounded,
        };

        runsInline = !blocking && parallelism == GraphOptions.Unbounded;
        if (blocking)
        {
            // Blocking code gets threads of its own, started as needed up to its parallelism; the thread pool stays free.
            var threads = parallelism == GraphOptions.Unbounded ? options.MaxRunsInFlight : parallelism;
            var scheduler = new DedicatedThreadScheduler(node.Name, Math.Min(threads, MaxBlockingThreads));
            _schedulers.Add(scheduler);
            blockOptions.TaskScheduler = scheduler;
            blockOptions.MaxDegreeOfParallelism = scheduler.MaximumConcurrencyLevel;
        }

        return new ActionBlock<GraphRun>(step.ExecuteAsync, blockOptions);
    }

    /// <summary>
    /// Starts a node. A node that finished synchronously gives its result at once; otherwise its pending task,
    /// whose result <see cref="ResultOf{TNext}"/> reads once it has completed. No wrapper state machine is needed.
    /// </summary>
    private static (INode? Result, Task? Pending) Invoke<TNext>(INode node, NodeContext context)
        where TNext : INode
    {
        var pending = ((INode<TNext>)node).RunAsync(context);
#pragma warning disable VSTHRD002 // Not a wait: the value task has completed successfully.
        return pending.IsCompletedSuccessfully ? (pending.Result, null) : (null, pending.AsTask());
#pragma warning restore VSTHRD002
    }

    /// <summary>The result of a node's task, read after it has been awaited to completion.</summary>
    private static INode? ResultOf<TNext>(Task completed)
        where TNext : INode
#pragma warning disable VSTHRD002 // Not a wait: the caller has awaited the task to completion.
        => ((Task<TNext>)completed).Result;
#pragma warning restore VSTHRD002

    /// <summary>The compiled form of one node type.</summary>
    internal sealed class Step
    {
        private readonly GraphNetwork _network;
        private readonly Func<INode, NodeContext, (INode? Result, Task? Pending)>? _invoke;
        private readonly Func<Task, INode?>? _resultOf;
        private readonly KeyValuePair<string, object?> _tag;

        public Step(GraphNetwork network, GraphNode node)
        {
            _network = network;
            Node = node;
            Effects = network.Graph.Options.Effects.Where(e => e.Source == node.Type).GroupBy(e => e.Target).ToFrozenDictionary(g => g.Key, g => g.ToArray());
            Name = node.Name;
            NodeType = node.Type;
            _tag = new("dataflow.node", node.Name);
            if (node.Declared is not null)
            {
                _invoke = InvokeDefinition.MakeGenericMethod(node.Declared).CreateDelegate<Func<INode, NodeContext, (INode?, Task?)>>();
                _resultOf = ResultOfDefinition.MakeGenericMethod(node.Declared).CreateDelegate<Func<Task, INode?>>();
            }
        }

        public string Name { get; }

        public Type NodeType { get; }

        public GraphNode Node { get; }

        /// <summary>The effects on transitions out of this node, by target type, in the order attached.</summary>
        public FrozenDictionary<Type, TransitionEffect[]> Effects { get; }

        public GraphNetwork Network => _network;

        public ActionBlock<GraphRun>? Block { get; set; }

        /// <summary>
        /// Whether a run arriving from another step executes this step at once, in the same flow, instead of
        /// queueing in the block: true for an asynchronous node without a parallelism bound, where the block
        /// would enforce nothing and only add a hand-off. Runs in flight stay bounded by admission.
        /// </summary>
        public bool RunsInline { get; set; }

        /// <summary>
        /// The block's action. It never throws: an exception here would fault the block and strand every run
        /// queued in it, so anything unexpected fails only the run at hand.
        /// </summary>
        /// <remarks>
        /// The node is awaited here and nowhere else, so a run that waits in its nodes costs one state machine
        /// for its whole way through inline steps; what comes before and after a node only allocates when it
        /// has to wait (a full sink, a dependency, an effect).
        /// </remarks>
        public async Task ExecuteAsync(GraphRun run)
        {
            if (!run.TryClaim())
            {
                // Cancelled and finished from outside while it waited in this block's buffer.
                _network.Leave();
                return;
            }

            var step = this;
            Outcome outcome;
            while (true)
            {
                try
                {
                    if (await step.BeforeAsync(run).ConfigureAwait(false) is { } early)
                    {
                        outcome = early;
                        break;
                    }

                    var node = run.CurrentNode;
                    var time = _network._engine.TimeProvider;
                    var activity = DataflowTelemetry.ActivitySource.HasListeners() ? step.StartActivity(run) : null;
                    var started = time.GetTimestamp();
                    INode? next = null;
                    Exception? failure = null;
                    try
                    {
                        var (result, pending) = step._invoke!(node, run.Context);
                        if (pending is not null)
                        {
                            await pending.ConfigureAwait(false);
                            result = step._resultOf!(pending);
                        }

                        next = result;
                    }
                    catch (Exception e)
                    {
                        failure = e;
                    }

                    outcome = await step.AfterAsync(run, node, next, failure, started, time.GetTimestamp(), activity).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    outcome = Outcome.End(RunState.Failed, null, e);
                }

                if (outcome.Kind != OutcomeKind.Inline)
                {
                    break;
                }

                step = outcome.Next!;
            }

            if (outcome.Kind == OutcomeKind.HandedOn)
            {
                return;
            }

            try
            {
                if (outcome.Kind == OutcomeKind.End)
                {
                    await _network._engine.FinishAsync(run, outcome.State, outcome.Result, outcome.Error).ConfigureAwait(false);
                }
            }
            finally
            {
                _network.Leave();
            }
        }

        /// <summary>What comes before the node runs: the start event, cancellation, the iteration limit, inputs and gates.</summary>
        /// <returns>How the run goes on instead of running the node, or null to run it.</returns>
        private async ValueTask<Outcome?> BeforeAsync(GraphRun run)
        {
            var engine = _network._engine;
            await engine.EmitStartAsync(run).ConfigureAwait(false);
            if (run.CancellationToken.IsCancellationRequested)
            {
                return Outcome.End(RunState.Cancelled, null, engine.CancelledError(run));
            }

            if (run.MaxIterations > 0 && run.Iterations >= run.MaxIterations)
            {
                return Outcome.End(RunState.Failed, null, new IterationLimitExceededException(run.Id, run.MaxIterations));
            }

            var node = run.CurrentNode;
            if (!Node.Inputs.IsEmpty && !ReferenceEquals(run.PreparedNode, node))
            {
                try
                {
                    await InputResolver.FillAsync(run, Node, node, engine.TimeProvider).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    return Outcome.End(IsCancellation(e, run) ? RunState.Cancelled : RunState.Failed, null, e);
                }

                if (Node.Inputs.Gates.Count > 0)
                {
                    // Wait outside the network: the run gives back its node slot and its admission slot.
                    _network.Leave();
                    engine.WaitAtGates(run, this, node);
                    return Outcome.HandedOn;
                }

                run.PreparedNode = node;
            }

            run.Context.Iteration = run.Iterations;
            run.Iterations++;
            return null;
        }

        /// <summary>What comes after the node returned or threw: its timing, then the effects, the transition and the hand-off.</summary>
        private async ValueTask<Outcome> AfterAsync(GraphRun run, INode node, INode? next, Exception? failure, long started, long ended, Activity? activity)
        {
            var engine = _network._engine;
            var durationMs = engine.TimeProvider.GetElapsedTime(started, ended).TotalMilliseconds;
            Step? nextStep = null;
            if (failure is null && next is null)
            {
                failure = new NodeContractException($"Node '{Name}' returned null; RunAsync must return the next node.");
            }
            else if (failure is null && !_network._steps.TryGetValue(next!.GetType(), out nextStep))
            {
                failure = new NodeContractException($"Node '{Name}' returned a '{next.GetType().Name}', which is not a node of this graph; declare it as a successor.");
            }

            run.RecordNode(Node, started, ended, failure is null ? next : null);
            if (DataflowTelemetry.NodeDuration.Enabled)
            {
                DataflowTelemetry.NodeDuration.Record(durationMs, _tag);
            }

            if (failure is not null)
            {
                var cancelled = IsCancellation(failure, run);
                activity?.SetTag("dataflow.outcome", cancelled ? "cancelled" : "failed");
                activity?.SetStatus(cancelled ? ActivityStatusCode.Unset : ActivityStatusCode.Error, cancelled ? null : failure.Message);
                activity?.Dispose();
                return Outcome.End(cancelled ? RunState.Cancelled : RunState.Failed, null, failure);
            }

            activity?.SetTag("dataflow.outcome", "ok");
            activity?.Dispose();
            if (Effects.TryGetValue(nextStep!.NodeType, out var effects))
            {
                foreach (var effect in effects)
                {
                    try
                    {
                        await effect.Invoke(node, next!, run.Context).ConfigureAwait(false);
                    }
                    catch (Exception e)
                    {
                        return Outcome.End(RunState.Failed, null, new EffectException(effect.Name, e));
                    }
                }
            }

            await engine.EmitTransitionAsync(run, Name, nextStep.Name).ConfigureAwait(false);
            if (nextStep.Block is null)
            {
                return Outcome.End(RunState.Done, next, null);
            }

            if (run.CancellationToken.IsCancellationRequested)
            {
                // Cancelled while the node ran, and the node did not notice: its result is discarded.
                return Outcome.End(RunState.Cancelled, null, engine.CancelledError(run));
            }

            if (RunsInline && nextStep.RunsInline)
            {
                // Neither step bounds its parallelism, so no slot is held by running the next one here.
                return Outcome.Inline(nextStep);
            }

            run.Unclaim();
            if (nextStep.Block.Post(run))
            {
                return Outcome.HandedOn;
            }

            // The engine stopped taking work; only its shutdown completes blocks, after runs have left.
            return run.TryClaimForFinish() ? Outcome.End(RunState.Cancelled, null, engine.CancelledError(run)) : Outcome.LeaveOnly;
        }

        private static bool IsCancellation(Exception e, GraphRun run) => e is OperationCanceledException && run.CancellationToken.IsCancellationRequested;

        private Activity? StartActivity(GraphRun run)
        {
            var activity = DataflowTelemetry.ActivitySource.StartActivity("dataflow.node", ActivityKind.Internal, run.Activity?.Context ?? default);
            activity?.SetTag("dataflow.run_id", run.Id);
            activity?.SetTag("dataflow.node", Name);
            return activity;
        }
    }

    private enum OutcomeKind
    {
        /// <summary>The run is in another block's buffer or waits at a gate: nothing more to do here.</summary>
        HandedOn,

        /// <summary>The run ends here: finish it, then leave the network.</summary>
        End,

        /// <summary>Someone else finished the run: only leave the network.</summary>
        LeaveOnly,

        /// <summary>The next step runs inline: execute it now, still owning the run.</summary>
        Inline,
    }

    /// <summary>What a step did with its run.</summary>
    private readonly record struct Outcome(OutcomeKind Kind, RunState State, INode? Result, Exception? Error, Step? Next = null)
    {
        public static Outcome HandedOn => new(OutcomeKind.HandedOn, default, null, null);

        public static Outcome LeaveOnly => new(OutcomeKind.LeaveOnly, default, null, null);

        public static Outcome End(RunState state, INode? result, Exception? error) => new(OutcomeKind.End, state, result, error);

        public static Outcome Inline(Step next) => new(OutcomeKind.Inline, default, null, null, next);
    }
}

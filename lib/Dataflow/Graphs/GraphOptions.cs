using Dataflow.Graphs.Inputs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Graphs;

/// <summary>
/// How a graph's dataflow network is built: parallelism per node and the bound on runs in flight.
/// The options are validated and copied when the graph is created, so later edits do not change it.
/// </summary>
public sealed class GraphOptions
{
    /// <summary>The value that means "no limit" for <see cref="MaxDegreeOfParallelism"/>.</summary>
    public const int Unbounded = -1;

    /// <summary>
    /// How many runs one node type executes at once, unless the node overrides it.
    /// <see cref="Unbounded"/> leaves the bound to <see cref="MaxRunsInFlight"/>.
    /// </summary>
    /// <value>The default value is 64.</value>
    public int MaxDegreeOfParallelism { get; set; } = 64;

    /// <summary>
    /// How many runs of this graph may be in flight at once (admission control). Once reached,
    /// <c>GraphEngine.SubmitAsync</c> waits for a run to finish and <c>GraphEngine.Submit</c> refuses
    /// with <see cref="Dataflow.Engine.RunRejectedException"/>. Runs waiting at a gate, in a backoff or for their
    /// children do not count; each child of a fan-out counts while it is in flight.
    /// </summary>
    /// <value>The default value is 1024.</value>
    public int MaxRunsInFlight { get; set; } = 1024;

    /// <summary>
    /// Whether the graph's runs are durable: on an engine with a checkpoint store
    /// (<c>GraphEngineOptions.Checkpoints</c>), each transition records a checkpoint, so that a crashed process can
    /// resume them (<c>GraphEngine.ResumeAsync</c>) and a failed run can be rerun from the node where it failed. Every
    /// node type must then be storable as JSON (System.Text.Json; <c>[Dep]</c> and <c>[Recall]</c> inputs are left out
    /// and filled again): checked when the graph is created, naming the node type and member that cannot be stored.
    /// </summary>
    /// <value>The default value is <see langword="false"/>.</value>
    public bool Durable { get; set; }

    /// <summary>Per-node overrides, keyed by node type.</summary>
    public IDictionary<Type, NodeOptions> Nodes { get; } = new Dictionary<Type, NodeOptions>();

    /// <summary>Returns the options of <typeparamref name="TNode"/>, adding them if absent.</summary>
    /// <typeparam name="TNode">The node type.</typeparam>
    public NodeOptions Node<TNode>()
        where TNode : INode
    {
        if (!Nodes.TryGetValue(typeof(TNode), out var options))
        {
            options = new NodeOptions();
            Nodes[typeof(TNode)] = options;
        }

        return options;
    }

    /// <summary>
    /// Attaches a side effect to the transition from <typeparamref name="TSource"/> to <typeparamref name="TTarget"/>:
    /// it runs after the source node has produced the target node and before the target runs. Several effects on
    /// one transition run in the order they were attached. An effect that throws fails the run with
    /// <see cref="Dataflow.Engine.EffectException"/>.
    /// </summary>
    /// <typeparam name="TSource">The node type that returns.</typeparam>
    /// <typeparam name="TTarget">The node type it returns.</typeparam>
    /// <param name="effect">The effect: it sees both nodes and the run's context.</param>
    /// <param name="name">A name for errors; <c>TSource -> TTarget</c> when null.</param>
    /// <returns>These options, for chaining.</returns>
    public GraphOptions Effect<TSource, TTarget>(Func<TSource, TTarget, NodeContext, ValueTask> effect, string? name = null)
        where TSource : INode
        where TTarget : INode
    {
        ArgumentNullException.ThrowIfNull(effect);
        Effects.Add(new TransitionEffect(
            name ?? $"{typeof(TSource).Name} -> {typeof(TTarget).Name}",
            typeof(TSource),
            typeof(TTarget),
            (source, target, context) => effect((TSource)source, (TTarget)target, context)));
        return this;
    }

    /// <summary>Attaches a synchronous side effect to a transition; see the asynchronous overload.</summary>
    /// <typeparam name="TSource">The node type that returns.</typeparam>
    /// <typeparam name="TTarget">The node type it returns.</typeparam>
    /// <param name="effect">The effect.</param>
    /// <param name="name">A name for errors; <c>TSource -> TTarget</c> when null.</param>
    /// <returns>These options, for chaining.</returns>
    public GraphOptions Effect<TSource, TTarget>(Action<TSource, TTarget> effect, string? name = null)
        where TSource : INode
        where TTarget : INode
    {
        ArgumentNullException.ThrowIfNull(effect);
        return Effect<TSource, TTarget>(
            (source, target, _) =>
            {
                effect(source, target);
                return ValueTask.CompletedTask;
            },
            name);
    }

    /// <summary>
    /// Registers the graph that a <see cref="Subgraph{TStart, TResult, TNext}"/> of its start type runs, with its own
    /// options; a subgraph whose start type is not registered runs a graph created with default options.
    /// </summary>
    /// <param name="graph">The other graph.</param>
    /// <returns>These options, for chaining.</returns>
    /// <exception cref="ArgumentException">A graph with the same start type is registered already.</exception>
    public GraphOptions Subgraph(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (!Subgraphs.TryAdd(graph.Start, graph))
        {
            throw new ArgumentException($"A subgraph that starts at '{graph.Start.Name}' is registered already.", nameof(graph));
        }

        return this;
    }

    internal List<TransitionEffect> Effects { get; } = [];

    internal Dictionary<Type, Graph> Subgraphs { get; } = [];

    internal GraphOptions Clone()
    {
        var copy = new GraphOptions
        {
            MaxDegreeOfParallelism = MaxDegreeOfParallelism,
            MaxRunsInFlight = MaxRunsInFlight,
            Durable = Durable,
        };
        copy.Effects.AddRange(Effects);
        foreach (var (start, graph) in Subgraphs)
        {
            copy.Subgraphs[start] = graph;
        }

        foreach (var (type, node) in Nodes)
        {
            copy.Nodes[type] = new NodeOptions { MaxDegreeOfParallelism = node.MaxDegreeOfParallelism, Blocking = node.Blocking, Retry = node.Retry?.Clone(), Timeout = node.Timeout, RecoverWith = node.RecoverWith };
        }

        return copy;
    }
}

/// <summary>A side effect on one transition.</summary>
internal sealed record TransitionEffect(string Name, Type Source, Type Target, Func<INode, INode, NodeContext, ValueTask> Invoke);

/// <summary>Options of one node type; unset values fall back to the graph's.</summary>
public sealed class NodeOptions
{
    /// <summary>
    /// How many runs this node type executes at once; <see langword="null"/> takes the graph's
    /// <see cref="GraphOptions.MaxDegreeOfParallelism"/>. A blocking node gets that many dedicated threads
    /// (at most 256), started as they are needed.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public int? MaxDegreeOfParallelism { get; set; }

    /// <summary>
    /// Whether the node blocks its thread; <see langword="null"/> takes <see cref="BlockingNodeAttribute"/>
    /// from the node type. Blocking nodes run on dedicated threads, as many as their parallelism.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public bool? Blocking { get; set; }

    /// <summary>
    /// How the node type is retried when an attempt fails; <see langword="null"/> takes <see cref="RetryAttribute"/>
    /// from the node type, or no retry.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public RetryPolicy? Retry { get; set; }

    /// <summary>
    /// The limit of each attempt; <see langword="null"/> takes <see cref="NodeTimeoutAttribute"/> from the node type, or
    /// no limit. See <see cref="NodeTimeoutAttribute"/> for what happens at the limit.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public TimeSpan? Timeout { get; set; }

    /// <summary>
    /// The recovery node type that receives the failure when the node fails for good; <see langword="null"/> takes
    /// <see cref="RecoverWithAttribute"/> from the node type, or none.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public Type? RecoverWith { get; set; }
}

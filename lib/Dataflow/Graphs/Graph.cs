using System.Collections.Frozen;
using System.Reflection;
using System.Text;
using Dataflow.Graphs.Inputs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Graphs;

/// <summary>
/// The node types reachable from a start type, with their edges: discovered once from the
/// successor types that each node's <see cref="INode{TNext}.RunAsync"/> declares, and validated.
/// A graph is immutable and may serve any number of runs on any number of engines.
/// </summary>
public sealed partial class Graph
{
    private readonly FrozenDictionary<Type, GraphNode> _byType;
    private GraphFingerprint? _fingerprint;
    private IReadOnlySet<Type>? _recallable;

    private Graph(Type start, IReadOnlyList<GraphNode> nodes, GraphOptions options)
    {
        Start = start;
        NodeInfos = nodes;
        _byType = nodes.ToFrozenDictionary(n => n.Type);
        Options = options;
        Nodes = nodes.Select(n => n.Type).ToArray();
        TerminalNodes = nodes.Where(n => n.IsTerminal).Select(n => n.Type).ToArray();
        Edges = nodes.SelectMany(n => n.Successors.Select(s => new GraphEdge(n.Type, s))).ToArray();
        RecoveryEdges = nodes.Where(n => n.Resilience.Recovery is not null).Select(n => new GraphEdge(n.Type, n.Resilience.Recovery!)).ToArray();
        FanOutEdges = nodes.Where(n => n.Children is { Subgraph: null }).Select(n => new GraphEdge(n.Type, n.Children!.Start)).ToArray();
        Subgraphs = nodes.Where(n => n.Children?.Subgraph is not null).ToDictionary(n => n.Type, n => n.Children!.Subgraph!);
    }

    /// <summary>The start node type.</summary>
    public Type Start { get; }

    /// <summary>Every node type of the graph, the start type first, in discovery order.</summary>
    public IReadOnlyList<Type> Nodes { get; }

    /// <summary>Every edge: a node type and a successor it can return.</summary>
    public IReadOnlyList<GraphEdge> Edges { get; }

    /// <summary>
    /// Every recovery route: a node type and the recovery node type its failures are handed to
    /// (<see cref="RecoverWithAttribute"/>, <see cref="NodeOptions.RecoverWith"/>). Not part of <see cref="Edges"/>.
    /// </summary>
    public IReadOnlyList<GraphEdge> RecoveryEdges { get; }

    /// <summary>
    /// Every fan-out: a node type that returns a <see cref="FanOut{TChild, TResult, TJoin}"/> and its children's start
    /// type. Not part of <see cref="Edges"/>, which holds the edge to the join.
    /// </summary>
    public IReadOnlyList<GraphEdge> FanOutEdges { get; }

    /// <summary>
    /// The other graphs that nodes of this one run as one step (<see cref="Subgraph{TStart, TResult, TNext}"/>), by the
    /// node type that runs each.
    /// </summary>
    public IReadOnlyDictionary<Type, Graph> Subgraphs { get; }

    /// <summary>The node types that have no successors; reaching one ends a run.</summary>
    public IReadOnlyList<Type> TerminalNodes { get; }

    /// <summary>The start node's name: what events carry as the graph's name.</summary>
    internal string StartName => NodeInfos[0].Name;

    /// <summary>The options the graph was created with (a copy; read-only in effect).</summary>
    internal GraphOptions Options { get; }

    /// <summary>Whether the graph's runs are checkpointed (<see cref="GraphOptions.Durable"/>), as it was created.</summary>
    public bool IsDurable => Options.Durable;

    /// <summary>How many runs of the graph may be in flight at once in one engine (<see cref="GraphOptions.MaxRunsInFlight"/>), as it was created.</summary>
    public int MaxRunsInFlight => Options.MaxRunsInFlight;

    internal IReadOnlyList<GraphNode> NodeInfos { get; }

    /// <summary>The graph's identity in a checkpoint store: its start node type's full name.</summary>
    internal string Identity => Start.FullName ?? Start.Name;

    /// <summary>The fingerprint that durable runs are checkpointed with; made on first use.</summary>
    internal GraphFingerprint Fingerprint => _fingerprint ??= GraphFingerprint.Of(NodeInfos);

    /// <summary>The node types whose nodes a <see cref="Inputs.RecallAttribute"/> input can reach: what a checkpoint keeps of the trace.</summary>
    internal IReadOnlySet<Type> Recallable => _recallable ??= FindRecallable();

    /// <summary>The node type of this graph with the name <paramref name="name"/> (<see cref="NameOf"/>), or null.</summary>
    internal GraphNode? FindByName(string name) => NodeInfos.FirstOrDefault(n => n.Name == name);

    /// <summary>Builds and validates the graph that starts at <typeparamref name="TStart"/>.</summary>
    /// <typeparam name="TStart">The start node type.</typeparam>
    /// <param name="options">Parallelism and admission options; copied.</param>
    /// <returns>The validated graph.</returns>
    /// <exception cref="InvalidGraphException">The graph is broken; the message names each node at fault.</exception>
    public static Graph Create<TStart>(GraphOptions? options = null)
        where TStart : INode
        => Create(typeof(TStart), options);

    /// <summary>Builds and validates the graph that starts at <paramref name="startType"/>.</summary>
    /// <param name="startType">The start node type.</param>
    /// <param name="options">Parallelism and admission options; copied.</param>
    /// <returns>The validated graph.</returns>
    /// <exception cref="InvalidGraphException">The graph is broken; the message names each node at fault.</exception>
    public static Graph Create(Type startType, GraphOptions? options = null)
        => Create(startType, options, []);

    private static Graph Create(Type startType, GraphOptions? options, HashSet<Type> creating)
    {
        ArgumentNullException.ThrowIfNull(startType);
        options ??= new GraphOptions();
        var errors = new List<string>();

        if (!typeof(INode).IsAssignableFrom(startType))
        {
            throw new InvalidGraphException([$"'{startType.Name}' is not a node: it does not implement {nameof(INode)}."]);
        }

        if (!IsConcrete(startType))
        {
            throw new InvalidGraphException([$"The start node '{startType.Name}' is abstract; start from a concrete node type."]);
        }

        var recoveries = new Dictionary<Type, ConstructorInfo?>();
        var nodes = Discover(startType, options, recoveries, errors);
        ValidateTermination(nodes, errors);
        ValidateOptions(options, nodes, errors);
        var inputs = new InputAnalyzer(errors);
        for (var i = 0; i < nodes.Count; i++)
        {
            nodes[i] = nodes[i] with
            {
                Inputs = inputs.Analyze(nodes[i].Type, nodes[i].Name, nodes[i].Type == startType),
                Resilience = NodeResilience.Resolve(nodes[i].Type, nodes[i].Name, options, recoveries.GetValueOrDefault(nodes[i].Type), errors),
            };
        }
        creating.Add(startType);
        ResolveChildren(nodes, options, creating, errors);
        creating.Remove(startType);
        if (options.Durable)
        {
            foreach (var node in nodes)
            {
                NodeJson.Check(node, errors);
            }
        }

        if (errors.Count > 0)
        {
            throw new InvalidGraphException(errors);
        }

        return new Graph(startType, nodes, options.Clone());
    }

    /// <summary>The successors of a node type of this graph.</summary>
    /// <param name="nodeType">A node type of this graph.</param>
    /// <returns>The node types it can return; empty for a terminal node.</returns>
    public IReadOnlyList<Type> Successors(Type nodeType)
    {
        ArgumentNullException.ThrowIfNull(nodeType);
        return _byType.TryGetValue(nodeType, out var node)
            ? node.Successors
            : throw new ArgumentException($"'{nodeType.Name}' is not a node of the graph that starts at '{Start.Name}'.", nameof(nodeType));
    }

    /// <summary>The display name of a node type in this graph (its type name, qualified only where two would clash).</summary>
    /// <param name="nodeType">A node type of this graph.</param>
    /// <returns>The name used in events, traces and diagrams.</returns>
    public string NameOf(Type nodeType)
    {
        ArgumentNullException.ThrowIfNull(nodeType);
        return _byType.TryGetValue(nodeType, out var node) ? node.Name : nodeType.Name;
    }

    internal GraphNode? Find(Type nodeType) => _byType.GetValueOrDefault(nodeType);

    private HashSet<Type> FindRecallable()
    {
        var wanted = NodeInfos.SelectMany(n => n.Inputs.Recalls).Select(r => r.Property.PropertyType).Distinct().ToArray();
        return NodeInfos
            .Where(n => wanted.Any(w => w.IsAssignableFrom(n.Type) || n.PlainProperties.Any(p => w.IsAssignableFrom(p.PropertyType))))
            .Select(n => n.Type)
            .ToHashSet();
    }

    internal static bool IsConcrete(Type type) => !type.IsAbstract && !type.IsInterface && !type.ContainsGenericParameters;

    private static List<GraphNode> Discover(Type start, GraphOptions options, Dictionary<Type, ConstructorInfo?> recoveries, List<string> errors)
    {
        var found = new List<(Type Type, Type[] Successors, Type? Declared, ChildShape? Children)>();
        var seen = new HashSet<Type> { start };
        var pending = new Queue<Type>();
        pending.Enqueue(start);
        var assemblies = new HashSet<Assembly>();

        while (pending.Count > 0)
        {
            var type = pending.Dequeue();
            if (NodeResilience.RecoveryOf(type, options) is { } recovery)
            {
                // A recovery route is an edge of its own: the recovery node joins the graph, and so do its successors.
                recoveries[type] = NodeResilience.ConstructorOf(type.Name, recovery, errors);
                if (recoveries[type] is not null && seen.Add(recovery))
                {
                    pending.Enqueue(recovery);
                }
            }

            var declarations = type.GetInterfaces()
                .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(INode<>))
                .Select(i => i.GetGenericArguments()[0])
                .ToArray();

            if (declarations.Length > 1)
            {
                errors.Add($"Node '{type.Name}' declares {declarations.Length} successor types ({string.Join(", ", declarations.Select(d => d.Name))}); declare one, using an interface or abstract base type for a choice.");
                found.Add((type, [], null, null));
                continue;
            }

            if (declarations.Length == 0)
            {
                found.Add((type, [], null, null));
                continue;
            }

            var declared = declarations[0];
            var children = ChildShape.Of(declared);
            var next = children?.Next ?? declared;
            assemblies.Add(type.Assembly);
            assemblies.Add(next.Assembly);
            assemblies.Add(start.Assembly);
            var successors = Implementations(next, assemblies);
            if (successors.Length == 0)
            {
                errors.Add($"Node '{type.Name}' declares successor '{next.Name}', which is abstract and has no concrete implementation in {string.Join(", ", assemblies.Select(a => a.GetName().Name).Order(StringComparer.Ordinal))}.");
            }

            found.Add((type, successors, declared, children));
            if (children is { IsSubgraph: false } && IsConcrete(children.Start) && seen.Add(children.Start))
            {
                // A fan-out's children run in this graph: their start type and what it reaches join it.
                pending.Enqueue(children.Start);
            }

            foreach (var successor in successors)
            {
                if (seen.Add(successor))
                {
                    pending.Enqueue(successor);
                }
            }
        }

        var names = found.GroupBy(f => f.Type.Name).ToDictionary(g => g.Key, g => g.Count());
        return found.Select(f => new GraphNode(
            f.Type,
            names[f.Type.Name] > 1 ? (f.Type.FullName ?? f.Type.Name) : f.Type.Name,
            f.Successors,
            f.Declared) { Children = f.Children }).ToList();
    }

    private static Type[] Implementations(Type declared, IEnumerable<Assembly> assemblies)
    {
        var result = new List<Type>();
        if (IsConcrete(declared))
        {
            result.Add(declared);
        }

        foreach (var assembly in assemblies)
        {
            foreach (var candidate in LoadableTypes(assembly))
            {
                if (candidate != declared && IsConcrete(candidate) && declared.IsAssignableFrom(candidate) && !result.Contains(candidate))
                {
                    result.Add(candidate);
                }
            }
        }

        result.Sort((a, b) => string.CompareOrdinal(a.FullName, b.FullName));
        return [.. result];
    }

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }

    private static void ValidateTermination(List<GraphNode> nodes, List<string> errors)
    {
        // A node reaches a terminal if it is one, or if any successor does: a fixed point over the edges.
        var reaches = nodes.Where(n => n.IsTerminal && n.Declared is null).Select(n => n.Type).ToHashSet();
        bool changed;
        do
        {
            changed = false;
            foreach (var node in nodes)
            {
                if (!reaches.Contains(node.Type) && node.Successors.Any(reaches.Contains))
                {
                    reaches.Add(node.Type);
                    changed = true;
                }
            }
        }
        while (changed);

        foreach (var node in nodes)
        {
            if (!reaches.Contains(node.Type) && node.Successors.Count > 0)
            {
                errors.Add($"Node '{node.Name}' has no path to a terminal node; every run through it would loop forever.");
            }
        }
    }

    private static void ValidateOptions(GraphOptions options, List<GraphNode> nodes, List<string> errors)
    {
        if (options.MaxDegreeOfParallelism is 0 or < GraphOptions.Unbounded)
        {
            errors.Add($"{nameof(GraphOptions.MaxDegreeOfParallelism)} is {options.MaxDegreeOfParallelism}; use a positive number or {nameof(GraphOptions)}.{nameof(GraphOptions.Unbounded)}.");
        }

        if (options.MaxRunsInFlight < 1)
        {
            errors.Add($"{nameof(GraphOptions.MaxRunsInFlight)} is {options.MaxRunsInFlight}; use a positive number.");
        }

        foreach (var (type, node) in options.Nodes)
        {
            if (node is null)
            {
                errors.Add($"The options of node '{type.Name}' are null.");
                continue;
            }

            if (!nodes.Any(n => n.Type == type))
            {
                errors.Add($"Options are given for '{type.Name}', which is not a node of this graph.");
            }

            if (node.MaxDegreeOfParallelism is { } dop && (dop is 0 or < GraphOptions.Unbounded))
            {
                errors.Add($"{nameof(NodeOptions.MaxDegreeOfParallelism)} of node '{type.Name}' is {dop}; use a positive number or {nameof(GraphOptions)}.{nameof(GraphOptions.Unbounded)}.");
            }
        }

        foreach (var effect in options.Effects)
        {
            var source = nodes.FirstOrDefault(n => n.Type == effect.Source);
            if (source is null || !source.Successors.Contains(effect.Target))
            {
                errors.Add($"Effect '{effect.Name}' is attached to {effect.Source.Name} -> {effect.Target.Name}, which is not an edge of this graph.");
            }
        }
    }
}

/// <summary>An edge of a graph: <see cref="From"/> can return a node of type <see cref="To"/>.</summary>
/// <param name="From">The node type that returns.</param>
/// <param name="To">The successor type it can return.</param>
public readonly record struct GraphEdge(Type From, Type To);

/// <summary>What discovery learned about one node type.</summary>
internal sealed record GraphNode(Type Type, string Name, IReadOnlyList<Type> Successors, Type? Declared)
{
    /// <summary>The inputs the engine fills in before the node runs.</summary>
    public InputPlan Inputs { get; init; } = InputPlan.None;

    /// <summary>The node's fan-out or subgraph, when it returns one.</summary>
    public ChildShape? Children { get; init; }

    /// <summary>Retry, timeout and recovery route of the node type.</summary>
    public NodeResilience Resilience { get; init; } = NodeResilience.None;

    /// <summary>Public readable properties that are not inputs: what a recall may copy from this node.</summary>
    public PropertyInfo[] PlainProperties { get; } = Type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanRead && p.GetIndexParameters().Length == 0 && !p.IsDefined(typeof(DepAttribute)) && !p.IsDefined(typeof(RecallAttribute)) && !p.IsDefined(typeof(GateAttribute)))
        .ToArray();

    /// <summary>A node with no successors ends its run. A node whose declaration failed also has none, but is not terminal.</summary>
    public bool IsTerminal => Successors.Count == 0 && Declared is null;
}

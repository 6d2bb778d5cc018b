using System.Reflection;

namespace Dataflow.Graphs;

/// <summary>Fan-outs and subgraphs at build time: what a node's declared successor says, and what must hold of it.</summary>
public sealed partial class Graph
{
    /// <summary>
    /// Checks every fan-out and subgraph of <paramref name="nodes"/> and fixes each subgraph's graph: the one registered
    /// in <paramref name="options"/>, or one created from its start type with default options. <paramref name="creating"/>
    /// holds the start types of the graphs being created around this one, so that graphs that run each other are reported
    /// instead of recursing for ever.
    /// </summary>
    private static void ResolveChildren(List<GraphNode> nodes, GraphOptions options, HashSet<Type> creating, List<string> errors)
    {
        var byType = nodes.ToDictionary(n => n.Type);
        for (var i = 0; i < nodes.Count; i++)
        {
            if (nodes[i].Children is not { } shape)
            {
                continue;
            }

            var node = nodes[i];
            var what = shape.IsSubgraph ? "runs the subgraph that starts at" : "fans out to";
            if (!IsConcrete(shape.Start))
            {
                errors.Add($"Node '{node.Name}' {what} '{shape.Start.Name}', which is abstract; name a concrete node type to start the {(shape.IsSubgraph ? "child run" : "children")} at.");
                continue;
            }

            shape = shape with { JoinConstructor = ChildShape.JoinConstructorOf(shape) };
            if (options.Durable && shape.JoinConstructor is null)
            {
                errors.Add(shape.IsSubgraph
                    ? $"Node '{node.Name}' runs the subgraph that starts at '{shape.Start.Name}' in a durable graph, so its next node must be made without a function after a crash: give '{shape.Next.Name}' a public constructor that takes a '{shape.Result.Name}', and return new Subgraph<{shape.Start.Name}, {shape.Result.Name}, {shape.Next.Name}>(start)."
                    : $"Node '{node.Name}' fans out to '{shape.Start.Name}' in a durable graph, so its join must be made without a function after a crash: give '{shape.Next.Name}' a public constructor that takes a FanOutResults<{shape.Result.Name}>, and return new FanOut<{shape.Start.Name}, {shape.Result.Name}, {shape.Next.Name}>(children).");
            }

            IEnumerable<Type> terminals;
            if (shape.IsSubgraph)
            {
                var graph = ResolveSubgraph(node, shape.Start, options, creating, errors);
                if (graph is null)
                {
                    continue;
                }

                if (graph.Options.Durable != options.Durable)
                {
                    errors.Add(options.Durable
                        ? $"Node '{node.Name}' runs the subgraph that starts at '{shape.Start.Name}', whose registered graph is not durable, but this graph is: a durable run's subgraph run is checkpointed too; register a graph of it created with GraphOptions.Durable = true."
                        : $"Node '{node.Name}' runs the subgraph that starts at '{shape.Start.Name}', whose registered graph is durable, but this graph is not: a subgraph run would be checkpointed without its parent; make both graphs durable or neither.");
                }

                shape = shape with { Subgraph = graph };
                terminals = graph.TerminalNodes;
            }
            else
            {
                terminals = Reachable(shape.Start, byType).Where(t => byType[t].IsTerminal);
            }

            nodes[i] = node with { Children = shape };
            foreach (var terminal in terminals.Where(t => !shape.Result.IsAssignableFrom(t)))
            {
                errors.Add($"Node '{node.Name}' {what} '{shape.Start.Name}', whose runs can end at '{terminal.Name}', which is not a '{shape.Result.Name}'; declare a result type that every terminal node of the children is.");
            }
        }

        foreach (var registered in options.Subgraphs.Keys.Where(start => !nodes.Any(n => n.Children is { IsSubgraph: true } c && c.Start == start)))
        {
            errors.Add($"A subgraph that starts at '{registered.Name}' is registered, but no node of this graph runs it.");
        }
    }

    private static Graph? ResolveSubgraph(GraphNode node, Type start, GraphOptions options, HashSet<Type> creating, List<string> errors)
    {
        if (options.Subgraphs.TryGetValue(start, out var registered))
        {
            return registered;
        }

        if (creating.Contains(start))
        {
            errors.Add($"Node '{node.Name}' runs the subgraph that starts at '{start.Name}', which is being created around it: graphs that run each other as subgraphs would nest for ever; create the inner graph first and register it with {nameof(GraphOptions)}.{nameof(GraphOptions.Subgraph)}.");
            return null;
        }

        try
        {
            // A durable graph's subgraph is checkpointed too: made from its start type, it is durable with default options.
            return Create(start, options.Durable ? new GraphOptions { Durable = true } : null, creating);
        }
        catch (InvalidGraphException e)
        {
            errors.AddRange(e.Errors.Select(error => $"In the subgraph that starts at '{start.Name}' (run by node '{node.Name}'): {error}"));
            return null;
        }
    }

    /// <summary>
    /// The node types a run from <paramref name="start"/> can move to: successors and recovery routes (a fan-out's
    /// children are runs of their own, which end elsewhere).
    /// </summary>
    private static HashSet<Type> Reachable(Type start, Dictionary<Type, GraphNode> byType)
    {
        var seen = new HashSet<Type> { start };
        var pending = new Stack<Type>([start]);
        while (pending.Count > 0)
        {
            if (!byType.TryGetValue(pending.Pop(), out var node))
            {
                continue;
            }

            IEnumerable<Type> next = node.Successors;
            if (node.Resilience.Recovery is { } recovery)
            {
                next = next.Append(recovery);
            }

            foreach (var type in next.Where(seen.Add))
            {
                pending.Push(type);
            }
        }

        return seen;
    }
}

/// <summary>
/// What a node's declared <see cref="FanOut{TChild, TResult, TJoin}"/> or <see cref="Subgraph{TStart, TResult, TNext}"/>
/// says: where the children start, what they end at, the parent's next node type, and a subgraph's graph once resolved.
/// </summary>
internal sealed record ChildShape(bool IsSubgraph, Type Start, Type Result, Type Next, Graph? Subgraph = null)
{
    /// <summary>
    /// The join's public constructor that takes the children's results (a fan-out: <c>FanOutResults&lt;TResult&gt;</c>;
    /// a subgraph: its result); null when the join type has none. How a join is made without a function, as a durable
    /// parent resumed after a crash makes it.
    /// </summary>
    public ConstructorInfo? JoinConstructor { get; init; }

    /// <summary>The constructor <see cref="JoinConstructor"/> would be for <paramref name="shape"/>, or null.</summary>
    public static ConstructorInfo? JoinConstructorOf(ChildShape shape)
    {
        if (!Graph.IsConcrete(shape.Next))
        {
            return null;
        }

        var wanted = shape.IsSubgraph ? shape.Result : typeof(FanOutResults<>).MakeGenericType(shape.Result);
        return shape.Next.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .FirstOrDefault(c => c.GetParameters() is [var only] && only.ParameterType.IsAssignableFrom(wanted) && (shape.IsSubgraph || only.ParameterType == wanted));
    }

    /// <summary>Makes the join from the children's outcomes with <see cref="JoinConstructor"/> (user code: it may throw).</summary>
    public INode MakeJoin(ChildOutcomes outcomes)
    {
        var constructor = JoinConstructor
            ?? throw new InvalidOperationException($"'{Next.Name}' has no public constructor that takes {(IsSubgraph ? $"a '{Result.Name}'" : $"a FanOutResults<{Result.Name}>")}, so the join cannot be made without a function; give it one, or pass a join function.");
        var argument = IsSubgraph
            ? outcomes.Result(0)
            : Activator.CreateInstance(typeof(FanOutResults<>).MakeGenericType(Result), BindingFlags.Instance | BindingFlags.NonPublic, null, [outcomes], null);
        try
        {
            return (INode)constructor.Invoke([argument]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }

    /// <summary>The shape a declared successor type names, or null for an ordinary successor.</summary>
    public static ChildShape? Of(Type declared)
    {
        if (!declared.IsGenericType)
        {
            return null;
        }

        var definition = declared.GetGenericTypeDefinition();
        if (definition != typeof(FanOut<,,>) && definition != typeof(Subgraph<,,>))
        {
            return null;
        }

        var arguments = declared.GetGenericArguments();
        return new ChildShape(definition == typeof(Subgraph<,,>), arguments[0], arguments[1], arguments[2]);
    }
}

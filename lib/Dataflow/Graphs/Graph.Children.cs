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
            if (options.Durable)
            {
                errors.Add($"Node '{node.Name}' {what} '{shape.Start.Name}', but the graph is durable: child runs are not checkpointed yet, so a durable graph cannot fan out or run subgraphs; make the graph not durable, or run the children as runs of their own.");
            }

            if (!IsConcrete(shape.Start))
            {
                errors.Add($"Node '{node.Name}' {what} '{shape.Start.Name}', which is abstract; name a concrete node type to start the {(shape.IsSubgraph ? "child run" : "children")} at.");
                continue;
            }

            IEnumerable<Type> terminals;
            if (shape.IsSubgraph)
            {
                var graph = ResolveSubgraph(node, shape.Start, options, creating, errors);
                if (graph is null)
                {
                    continue;
                }

                if (graph.Options.Durable)
                {
                    errors.Add($"Node '{node.Name}' runs the subgraph that starts at '{shape.Start.Name}', which is durable: a subgraph's run is not checkpointed yet; register a graph of it that is not durable.");
                }

                nodes[i] = node with { Children = shape with { Subgraph = graph } };
                terminals = graph.TerminalNodes;
            }
            else
            {
                terminals = Reachable(shape.Start, byType).Where(t => byType[t].IsTerminal);
            }

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
            return Create(start, null, creating);
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

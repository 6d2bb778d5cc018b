using Dataflow.Graphs;

namespace Dataflow.Extensions.Hosting;

/// <summary>The graphs registered with <see cref="DataflowBuilderExtensions.AddGraph{TStart}"/>, by start type.</summary>
public sealed class GraphCatalog
{
    private readonly Dictionary<Type, Graph> _graphs = [];

    /// <summary>Builds (and so validates) every registered graph.</summary>
    /// <param name="registrations">The registrations.</param>
    /// <exception cref="InvalidOperationException">A start type is registered twice.</exception>
    /// <exception cref="InvalidGraphException">A graph is broken; the message names the node.</exception>
    internal GraphCatalog(IEnumerable<GraphDescriptor> registrations)
    {
        foreach (var registration in registrations)
        {
            if (_graphs.ContainsKey(registration.StartType))
            {
                throw new InvalidOperationException(
                    $"The graph that starts at '{registration.StartType.Name}' is registered twice: call AddGraph<{registration.StartType.Name}>() once.");
            }

            var options = new GraphOptions();
            registration.Configure?.Invoke(options);
            _graphs.Add(registration.StartType, Graph.Create(registration.StartType, options));
        }
    }

    /// <summary>The registered graphs.</summary>
    public IReadOnlyCollection<Graph> Graphs => _graphs.Values;

    /// <summary>The graph that starts at <typeparamref name="TStart"/>.</summary>
    /// <typeparam name="TStart">The start node type.</typeparam>
    /// <returns>The graph.</returns>
    /// <exception cref="InvalidOperationException">No graph starting there is registered.</exception>
    public Graph Get<TStart>()
        where TStart : INode
        => Get(typeof(TStart));

    /// <summary>The graph that starts at <paramref name="startType"/>.</summary>
    /// <param name="startType">The start node type.</param>
    /// <returns>The graph.</returns>
    /// <exception cref="InvalidOperationException">No graph starting there is registered.</exception>
    public Graph Get(Type startType)
    {
        ArgumentNullException.ThrowIfNull(startType);
        return _graphs.TryGetValue(startType, out var graph)
            ? graph
            : throw new InvalidOperationException(
                $"No graph starts at '{startType.Name}': register it with services.AddDataflow().AddGraph<{startType.Name}>().");
    }

    /// <summary>Finds the graph that starts at <paramref name="startType"/>.</summary>
    /// <param name="startType">The start node type.</param>
    /// <param name="graph">The graph, when one is registered.</param>
    /// <returns>Whether one is registered.</returns>
    public bool TryGet(Type startType, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Graph? graph)
    {
        ArgumentNullException.ThrowIfNull(startType);
        return _graphs.TryGetValue(startType, out graph);
    }
}

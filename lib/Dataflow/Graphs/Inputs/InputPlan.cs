using System.Reflection;
using Dataflow.Graphs;

namespace Dataflow.Graphs.Inputs;

/// <summary>One dependency of a graph: a type implementing <see cref="IDependency{T}"/>, or a service.</summary>
internal sealed class DependencySpec
{
    private static readonly MethodInfo InvokeDefinition = typeof(DependencySpec).GetMethod(nameof(Invoke), BindingFlags.NonPublic | BindingFlags.Static)!;

    private DependencySpec(string name, Type valueType, Type? dependencyType)
    {
        Name = name;
        ValueType = valueType;
        DependencyType = dependencyType;
        if (dependencyType is not null)
        {
            Resolve = InvokeDefinition.MakeGenericMethod(valueType).CreateDelegate<Func<object, NodeContext, ValueTask<object?>>>();
        }
    }

    /// <summary>The name in timings and errors: the dependency's type name, or the service type's.</summary>
    public string Name { get; }

    /// <summary>The value it computes.</summary>
    public Type ValueType { get; }

    /// <summary>The <see cref="IDependency{T}"/> implementation; <see langword="null"/> for a service.</summary>
    public Type? DependencyType { get; }

    /// <summary>Its own inputs, filled before it runs.</summary>
    public List<InputProperty> Inputs { get; } = [];

    /// <summary>0 for a dependency with no inputs, else one more than its deepest input.</summary>
    public int Level { get; set; } = -1;

    public Func<object, NodeContext, ValueTask<object?>>? Resolve { get; }

    public static DependencySpec ForType(Type dependencyType, Type valueType) => new(dependencyType.Name, valueType, dependencyType);

    public static DependencySpec ForService(Type serviceType) => new(serviceType.Name, serviceType, null);

    private static async ValueTask<object?> Invoke<T>(object dependency, NodeContext context)
        => await ((IDependency<T>)dependency).ResolveAsync(context).ConfigureAwait(false);
}

/// <summary>A property filled by a dependency.</summary>
internal sealed record InputProperty(PropertyInfo Property, DependencySpec Spec);

/// <summary>A property filled from the run's trace.</summary>
internal sealed record RecallProperty(PropertyInfo Property);

/// <summary>
/// A property filled by a person through a gate; with a <paramref name="Timeout"/>, it takes
/// <paramref name="Default"/> (when <paramref name="UseDefault"/>) or fails the run when nobody answers in time.
/// </summary>
internal sealed record GateProperty(PropertyInfo Property, string? Description, TimeSpan? Timeout = null, bool UseDefault = false, object? Default = null);

/// <summary>What the engine fills in on one node type before it runs.</summary>
internal sealed class InputPlan
{
    public static readonly InputPlan None = new([], [], [], []);

    public InputPlan(IReadOnlyList<InputProperty> dependencies, IReadOnlyList<DependencySpec[]> levels, IReadOnlyList<RecallProperty> recalls, IReadOnlyList<GateProperty> gates)
    {
        Dependencies = dependencies;
        Levels = levels;
        Recalls = recalls;
        Gates = gates;
    }

    public IReadOnlyList<InputProperty> Dependencies { get; }

    /// <summary>Every dependency the node needs, transitively, grouped so that each group only needs earlier ones.</summary>
    public IReadOnlyList<DependencySpec[]> Levels { get; }

    public IReadOnlyList<RecallProperty> Recalls { get; }

    public IReadOnlyList<GateProperty> Gates { get; }

    public bool IsEmpty => Dependencies.Count == 0 && Recalls.Count == 0 && Gates.Count == 0;
}

using Dataflow.Graphs;

namespace Dataflow.Graphs.Inputs;

/// <summary>
/// Marks a node property (or a dependency's property) that the engine fills with a dependency before the
/// node runs: computed once per run and cached, independent dependencies concurrently, each one timed.
/// </summary>
/// <remarks>
/// With a type, the value comes from that <see cref="IDependency{T}"/> implementation; without one, from the
/// <see cref="IServiceProvider"/> in <see cref="Dataflow.Engine.GraphEngineOptions.Services"/>, by the property's type.
/// </remarks>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public sealed class DepAttribute : Attribute
{
    /// <summary>Fills the property from the engine's <see cref="IServiceProvider"/>, by the property's type.</summary>
    public DepAttribute()
    {
    }

    /// <summary>Fills the property from a dependency type.</summary>
    /// <param name="dependency">A concrete type implementing <see cref="IDependency{T}"/>.</param>
    public DepAttribute(Type dependency)
    {
        Dependency = dependency;
    }

    /// <summary>The dependency type; <see langword="null"/> for a service.</summary>
    public Type? Dependency { get; }
}

/// <summary>
/// Marks a node property that the engine copies from the run's trace before the node runs: the most recent
/// earlier node of the property's type or, failing that, the most recent non-null plain property of that type
/// on an earlier node. No match fails the run with <see cref="Dataflow.Engine.RecallException"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public sealed class RecallAttribute : Attribute;

/// <summary>
/// Marks a node property that waits for a value from outside the run (human in the loop). When the node is
/// reached, the run turns Waiting and a gate is registered per such property; <see cref="Dataflow.Engine.GraphEngine.ResolveGate"/>
/// supplies the value, and the run resumes when all of the node's gates are resolved.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
public sealed class GateAttribute : Attribute
{
    /// <summary>A gate with no description.</summary>
    public GateAttribute()
    {
    }

    /// <summary>A gate with a description, shown to whoever resolves it.</summary>
    /// <param name="description">What is asked, such as "Deploy to prod?".</param>
    public GateAttribute(string description)
    {
        Description = description;
    }

    /// <summary>What is asked.</summary>
    public string? Description { get; }

    /// <summary>
    /// How long the gate waits for its value, in milliseconds, from when the run reaches it; 0 waits for ever. After
    /// the timeout, <see cref="OnTimeout"/> says what happens.
    /// </summary>
    /// <value>The default value is 0.</value>
    public double TimeoutMs { get; set; }

    /// <summary>What happens when <see cref="TimeoutMs"/> passes with no value.</summary>
    /// <value>The default value is <see cref="GateTimeoutAction.Fail"/>.</value>
    public GateTimeoutAction OnTimeout { get; set; }

    /// <summary>
    /// The value the gate takes at its timeout with <see cref="GateTimeoutAction.UseDefault"/>; it must be of the
    /// property's type (checked when the graph is built), or null for a reference or nullable type.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public object? Default { get; set; }
}

/// <summary>What a gate does when its timeout passes with no value (<see cref="GateAttribute.TimeoutMs"/>).</summary>
public enum GateTimeoutAction
{
    /// <summary>The run fails with <see cref="Dataflow.Engine.Resilience.GateTimeoutException"/>, naming the gate.</summary>
    Fail,

    /// <summary>The gate takes <see cref="GateAttribute.Default"/> and the run goes on.</summary>
    UseDefault,
}

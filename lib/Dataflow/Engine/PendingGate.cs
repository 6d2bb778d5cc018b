using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>A node input waiting for a value from outside its run; resolve it with <see cref="GraphEngine.ResolveGate"/>.</summary>
public sealed class PendingGate
{
    private readonly TaskCompletionSource<object?> _value = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal PendingGate(string id, string runId, string field, Type type, string? description, Type nodeType, string nodeName)
    {
        Id = id;
        RunId = runId;
        Field = field;
        Type = type;
        Description = description;
        NodeType = nodeType;
        NodeName = nodeName;
    }

    /// <summary>The gate's id: <c>&lt;run id&gt;.&lt;n&gt;</c>, such as <c>g1.0</c>.</summary>
    public string Id { get; }

    /// <summary>The run that waits.</summary>
    public string RunId { get; }

    /// <summary>The input's property name.</summary>
    public string Field { get; }

    /// <summary>The type of value it takes.</summary>
    public Type Type { get; }

    /// <summary>What is asked, if the gate says.</summary>
    public string? Description { get; }

    /// <summary>The node type whose input it is.</summary>
    public Type NodeType { get; }

    /// <summary>The node's name in its graph.</summary>
    public string NodeName { get; }

    /// <summary>How the gate reads to a person: <c>Approved: Boolean ("Deploy to prod?")</c>.</summary>
    public string Display => Description is null ? $"{Field}: {TypeNames.Of(Type)}" : $"{Field}: {TypeNames.Of(Type)} (\"{Description}\")";

    internal Task<object?> Value => _value.Task;

    /// <inheritdoc/>
    public override string ToString() => $"{Id} {Display}";

    internal bool Accepts(object? value)
        => value is null
            ? !Type.IsValueType || Nullable.GetUnderlyingType(Type) is not null
            : Type.IsInstanceOfType(value);

    internal bool TrySetValue(object? value) => _value.TrySetResult(value);

    internal void Cancel() => _value.TrySetCanceled();
}

using System.Reflection;

namespace Dataflow.Graphs.Resilience;

/// <summary>
/// The resilience of one node type as the graph fixed it at build time: retry, timeout and recovery route, from
/// <see cref="NodeOptions"/> where set, else from the node type's attributes. Immutable.
/// </summary>
internal sealed record NodeResilience(RetryPolicy? Retry, TimeSpan? Timeout, Type? Recovery, ConstructorInfo? RecoveryConstructor)
{
    public static readonly NodeResilience None = new(null, null, null, null);

    /// <summary>The recovery type declared for <paramref name="type"/>, if any (options first).</summary>
    public static Type? RecoveryOf(Type type, GraphOptions options)
        => options.Nodes.TryGetValue(type, out var node) && node?.RecoverWith is { } declared
            ? declared
            : type.GetCustomAttribute<RecoverWithAttribute>(inherit: true)?.RecoveryType;

    /// <summary>
    /// Checks that <paramref name="recovery"/>, declared by node <paramref name="node"/>, can be made into a node; adds
    /// what is wrong to <paramref name="errors"/>, naming both types.
    /// </summary>
    /// <returns>Its constructor taking a <see cref="NodeFailure"/>, or null when it is not usable.</returns>
    public static ConstructorInfo? ConstructorOf(string node, Type recovery, List<string> errors)
    {
        var where = $"Node '{node}' declares recovery node '{recovery.Name}'";
        if (!typeof(INode).IsAssignableFrom(recovery))
        {
            errors.Add($"{where}, which is not a node: it does not implement {nameof(INode)}.");
            return null;
        }

        if (recovery.IsAbstract || recovery.IsInterface || recovery.ContainsGenericParameters)
        {
            errors.Add($"{where}, which is abstract; name a concrete node type.");
            return null;
        }

        var constructor = recovery.GetConstructor([typeof(NodeFailure)]);
        if (constructor is null)
        {
            errors.Add($"{where}, which has no public constructor taking a {nameof(NodeFailure)}; add one, such as 'public {recovery.Name}({nameof(NodeFailure)} failure)'.");
        }

        return constructor;
    }

    /// <summary>Resolves and validates the retry and timeout of <paramref name="type"/>; problems go to <paramref name="errors"/>.</summary>
    public static NodeResilience Resolve(Type type, string name, GraphOptions options, ConstructorInfo? recoveryConstructor, List<string> errors)
    {
        options.Nodes.TryGetValue(type, out var node);
        var retry = node?.Retry?.Clone() ?? type.GetCustomAttribute<RetryAttribute>(inherit: true)?.ToPolicy();
        retry?.Validate(name, errors);
        if (type.GetCustomAttribute<RetryAttribute>(inherit: true) is { RetryOn: { Length: > 0 } on } && node?.Retry is null)
        {
            foreach (var bad in on.Where(t => t is null || !typeof(Exception).IsAssignableFrom(t)))
            {
                errors.Add($"The [Retry] of node '{name}' retries on '{bad?.Name ?? "null"}', which is not an exception type.");
            }
        }

        TimeSpan? timeout = node?.Timeout
            ?? (type.GetCustomAttribute<NodeTimeoutAttribute>(inherit: true) is { } attribute
                ? double.IsFinite(attribute.Milliseconds) && Math.Abs(attribute.Milliseconds) < RetryPolicy.MaxSupportedDelay.TotalMilliseconds
                    ? TimeSpan.FromMilliseconds(attribute.Milliseconds)
                    : TimeSpan.MinValue
                : null);
        if (timeout is { } limit && (limit <= TimeSpan.Zero || limit > RetryPolicy.MaxSupportedDelay))
        {
            errors.Add($"The timeout of node '{name}' is {(limit == TimeSpan.MinValue ? "out of range" : limit.ToString())}; use a positive time of at most {RetryPolicy.MaxSupportedDelay.TotalDays:0} days.");
            timeout = null;
        }

        var recovery = recoveryConstructor?.DeclaringType;
        return retry is null && timeout is null && recovery is null ? None : new NodeResilience(retry, timeout, recovery, recoveryConstructor);
    }
}

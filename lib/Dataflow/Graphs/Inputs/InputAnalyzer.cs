using System.Reflection;
using Dataflow.Graphs;

namespace Dataflow.Graphs.Inputs;

/// <summary>
/// Reads the input attributes of a graph's node types at build time, validates them, and orders each node's
/// dependencies into topological levels. Every problem is added to the error list, naming its node.
/// </summary>
internal sealed class InputAnalyzer
{
    private readonly Dictionary<Type, DependencySpec> _dependencies = [];
    private readonly Dictionary<Type, DependencySpec> _services = [];
    private readonly List<string> _errors;

    public InputAnalyzer(List<string> errors)
    {
        _errors = errors;
    }

    public InputPlan Analyze(Type nodeType, string nodeName, bool isStart)
    {
        var dependencies = new List<InputProperty>();
        var recalls = new List<RecallProperty>();
        var gates = new List<GateProperty>();
        foreach (var property in nodeType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var dep = property.GetCustomAttribute<DepAttribute>();
            var recall = property.GetCustomAttribute<RecallAttribute>();
            var gate = property.GetCustomAttribute<GateAttribute>();
            var count = (dep is null ? 0 : 1) + (recall is null ? 0 : 1) + (gate is null ? 0 : 1);
            if (count == 0)
            {
                continue;
            }

            var where = $"{nodeName}.{property.Name}";
            if (count > 1)
            {
                _errors.Add($"'{where}' has more than one of [Dep], [Recall] and [Gate]; give it one.");
                continue;
            }

            if (property.SetMethod is null || !property.SetMethod.IsPublic)
            {
                _errors.Add($"'{where}' has no public setter; an input must be settable (set or init).");
                continue;
            }

            if (dep is not null)
            {
                if (Spec(dep, property, where, []) is { } spec)
                {
                    dependencies.Add(new InputProperty(property, spec));
                }
            }
            else if (recall is not null)
            {
                if (isStart)
                {
                    _errors.Add($"Node '{nodeName}' is the start node and cannot recall '{property.Name}' ({TypeNames.Of(property.PropertyType)}): there is no earlier node in its trace.");
                }
                else
                {
                    recalls.Add(new RecallProperty(property));
                }
            }
            else if (GateOf(gate!, property, where) is { } gateProperty)
            {
                gates.Add(gateProperty);
            }
        }

        if (dependencies.Count == 0 && recalls.Count == 0 && gates.Count == 0)
        {
            return InputPlan.None;
        }

        var needed = new HashSet<DependencySpec>();
        foreach (var input in dependencies)
        {
            Collect(input.Spec, needed);
        }

        var levels = needed.Where(s => s.Level >= 0)
            .GroupBy(s => s.Level)
            .OrderBy(g => g.Key)
            .Select(g => g.OrderBy(s => s.Name, StringComparer.Ordinal).ToArray())
            .ToArray();
        return new InputPlan(dependencies, levels, recalls, gates);
    }

    /// <summary>The gate of a [Gate] property, its timeout and default checked; null after an error.</summary>
    private GateProperty? GateOf(GateAttribute gate, PropertyInfo property, string where)
    {
        var ok = true;
        if (!double.IsFinite(gate.TimeoutMs) || gate.TimeoutMs < 0 || gate.TimeoutMs > uint.MaxValue - 1)
        {
            _errors.Add($"The gate '{where}' has TimeoutMs {gate.TimeoutMs}; use 0 (no timeout) or a positive number of milliseconds.");
            ok = false;
        }

        if (!Enum.IsDefined(gate.OnTimeout))
        {
            _errors.Add($"The gate '{where}' has OnTimeout {(int)gate.OnTimeout}, which is not a GateTimeoutAction.");
            ok = false;
        }

        var useDefault = gate.OnTimeout == GateTimeoutAction.UseDefault;
        var type = property.PropertyType;
        if (useDefault && gate.TimeoutMs == 0)
        {
            _errors.Add($"The gate '{where}' uses a default on timeout but has no TimeoutMs; give it a timeout.");
            ok = false;
        }
        else if (useDefault && !(gate.Default is null ? !type.IsValueType || Nullable.GetUnderlyingType(type) is not null : type.IsInstanceOfType(gate.Default)))
        {
            _errors.Add($"The gate '{where}' has Default {(gate.Default is null ? "null" : $"'{gate.Default}' ({TypeNames.Of(gate.Default.GetType())})")}, which does not fit its type '{TypeNames.Of(type)}'.");
            ok = false;
        }
        else if (!useDefault && gate.Default is not null)
        {
            _errors.Add($"The gate '{where}' has a Default but OnTimeout is Fail; set OnTimeout = GateTimeoutAction.UseDefault, or drop the Default.");
            ok = false;
        }

        return ok
            ? new GateProperty(property, gate.Description, gate.TimeoutMs > 0 ? TimeSpan.FromMilliseconds(gate.TimeoutMs) : null, useDefault, gate.Default)
            : null;
    }

    private static void Collect(DependencySpec spec, HashSet<DependencySpec> needed)
    {
        if (needed.Add(spec))
        {
            foreach (var input in spec.Inputs)
            {
                Collect(input.Spec, needed);
            }
        }
    }

    /// <summary>The spec for a [Dep] property, analysing the dependency's own inputs first; null after an error.</summary>
    private DependencySpec? Spec(DepAttribute dep, PropertyInfo property, string where, List<Type> path)
    {
        if (dep.Dependency is null)
        {
            if (!_services.TryGetValue(property.PropertyType, out var service))
            {
                service = DependencySpec.ForService(property.PropertyType);
                service.Level = 0;
                _services[property.PropertyType] = service;
            }

            return service;
        }

        var type = dep.Dependency;
        var declarations = type.GetInterfaces().Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDependency<>)).ToArray();
        if (declarations.Length != 1 || type.IsAbstract || type.IsInterface || type.ContainsGenericParameters)
        {
            _errors.Add(declarations.Length == 0
                ? $"'{where}' names '{type.Name}', which is not a dependency; implement IDependency<T>."
                : declarations.Length > 1
                    ? $"Dependency '{type.Name}' (for '{where}') implements IDependency<T> more than once; implement it once."
                    : $"Dependency '{type.Name}' (for '{where}') is abstract; name a concrete type.");
            return null;
        }

        var valueType = declarations[0].GetGenericArguments()[0];
        if (!property.PropertyType.IsAssignableFrom(valueType))
        {
            _errors.Add($"Dependency '{type.Name}' returns '{TypeNames.Of(valueType)}', which does not fit '{where}' of type '{TypeNames.Of(property.PropertyType)}'.");
            return null;
        }

        if (path.Contains(type))
        {
            var cycle = path.SkipWhile(t => t != type).Append(type).Select(t => t.Name);
            _errors.Add($"Dependency cycle: {string.Join(" -> ", cycle)}.");
            return null;
        }

        if (_dependencies.TryGetValue(type, out var known))
        {
            return known.Level >= 0 ? known : null;
        }

        var spec = DependencySpec.ForType(type, valueType);
        _dependencies[type] = spec;
        path.Add(type);
        var ok = true;
        foreach (var inner in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (inner.GetCustomAttribute<DepAttribute>() is not { } innerDep)
            {
                continue;
            }

            var innerWhere = $"{type.Name}.{inner.Name}";
            if (inner.SetMethod is null || !inner.SetMethod.IsPublic)
            {
                _errors.Add($"'{innerWhere}' has no public setter; an input must be settable (set or init).");
                ok = false;
                continue;
            }

            if (Spec(innerDep, inner, innerWhere, path) is { } innerSpec)
            {
                spec.Inputs.Add(new InputProperty(inner, innerSpec));
            }
            else
            {
                ok = false;
            }
        }

        path.RemoveAt(path.Count - 1);
        if (!ok)
        {
            return null;
        }

        spec.Level = spec.Inputs.Count == 0 ? 0 : spec.Inputs.Max(i => i.Spec.Level) + 1;
        return spec;
    }
}

/// <summary>Type names as a C# reader writes them: <c>Int32?</c>, <c>List&lt;String&gt;</c>.</summary>
internal static class TypeNames
{
    public static string Of(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            return Of(inner) + "?";
        }

        if (!type.IsGenericType)
        {
            return type.Name;
        }

        var name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
        return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(Of))}>";
    }
}

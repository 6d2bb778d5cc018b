using System.Collections;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// How a node is stored in a checkpoint (<see cref="GraphOptions.Durable"/>): System.Text.Json over its public
/// properties, leaving out the inputs the engine fills again before the node runs (<see cref="DepAttribute"/> and
/// <see cref="RecallAttribute"/>); gate values are kept. <see cref="Check"/> refuses, when the graph is built, a node
/// type that this cannot store and restore, naming the node and the member.
/// </summary>
internal static class NodeJson
{
    private const int MaxDepth = 8;

    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { LeaveOutFilledInputs } },
    };

    public static string Serialize(INode node) => JsonSerializer.Serialize(node, node.GetType(), Options);

    public static INode Deserialize(string json, Type type)
        => JsonSerializer.Deserialize(json, type, Options) as INode ?? throw new JsonException($"The stored JSON of '{type.Name}' is null.");

    /// <summary>Adds a problem for every member of <paramref name="node"/>'s type that cannot be stored and restored.</summary>
    public static void Check(GraphNode node, List<string> errors)
    {
        var prefix = $"Node '{node.Name}' cannot be checkpointed (GraphOptions.Durable)";
        var type = node.Type;
        var constructors = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance);
        var chosen = constructors.FirstOrDefault(c => c.IsDefined(typeof(JsonConstructorAttribute)))
            ?? constructors.FirstOrDefault(c => c.GetParameters().Length == 0)
            ?? (constructors.Length == 1 ? constructors[0] : null);
        if (chosen is null)
        {
            errors.Add($"{prefix}: it has {constructors.Length} public constructors and none without parameters; mark the one to restore it with [JsonConstructor].");
            return;
        }

        var properties = Stored(type).ToArray();
        foreach (var parameter in chosen.GetParameters())
        {
            if (!properties.Any(p => string.Equals(p.Name, parameter.Name, StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add($"{prefix}: its constructor parameter '{parameter.Name}' matches no public property, so it cannot be restored; add a property of that name.");
            }
        }

        foreach (var property in properties)
        {
            if (!property.CanWrite && !chosen.GetParameters().Any(p => string.Equals(p.Name, property.Name, StringComparison.OrdinalIgnoreCase)) && HasBackingField(type, property))
            {
                errors.Add($"{prefix}: its property '{property.Name}' is read-only and not a constructor parameter, so it would not be restored; give it an init accessor, or [JsonIgnore] it.");
                continue;
            }

            if (Unstorable(property.PropertyType, property.Name, 0, []) is { } why)
            {
                errors.Add($"{prefix}: its {why}; leave it out with [JsonIgnore], or make it plain data.");
            }
        }

        try
        {
            Options.GetTypeInfo(type);
        }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException)
        {
            errors.Add($"{prefix}: System.Text.Json refuses its type: {e.Message}");
        }
    }

    /// <summary>The properties stored: public, readable, not an indexer, not filled by the engine, not ignored.</summary>
    public static IEnumerable<PropertyInfo> Stored(Type type)
        => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0 && !IsFilledInput(p) && p.GetCustomAttribute<JsonIgnoreAttribute>() is not { Condition: JsonIgnoreCondition.Always })
            .OrderBy(p => p.Name, StringComparer.Ordinal);

    private static bool IsFilledInput(PropertyInfo property) => property.IsDefined(typeof(DepAttribute), true) || property.IsDefined(typeof(RecallAttribute), true);

    private static bool HasBackingField(Type type, PropertyInfo property)
        => type.GetField($"<{property.Name}>k__BackingField", BindingFlags.NonPublic | BindingFlags.Instance) is { } field && field.IsDefined(typeof(CompilerGeneratedAttribute));

    /// <summary>Why a member of <paramref name="type"/> cannot be stored, or null when it can.</summary>
    private static string? Unstorable(Type type, string path, int depth, HashSet<Type> seen)
    {
        var shown = $"property '{path}' is a {TypeNames.Of(type)}";
        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            type = inner;
        }

        if (type.IsPrimitive && type != typeof(IntPtr) && type != typeof(UIntPtr))
        {
            return null;
        }

        if (type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(DateTime) || type == typeof(DateTimeOffset)
            || type == typeof(TimeSpan) || type == typeof(Guid) || type == typeof(Uri) || type == typeof(Version) || type == typeof(DateOnly)
            || type == typeof(TimeOnly) || type == typeof(JsonElement) || type == typeof(Half) || type == typeof(Int128) || type == typeof(UInt128))
        {
            return null;
        }

        if (typeof(Delegate).IsAssignableFrom(type))
        {
            return $"{shown}, a delegate, which JSON cannot store";
        }

        if (type == typeof(object))
        {
            return $"{shown}, which JSON would restore as a JsonElement, not as what it held";
        }

        if (typeof(Exception).IsAssignableFrom(type) || typeof(MemberInfo).IsAssignableFrom(type) || typeof(Assembly).IsAssignableFrom(type)
            || typeof(Stream).IsAssignableFrom(type) || typeof(Task).IsAssignableFrom(type) || type == typeof(CancellationToken) || type == typeof(IntPtr)
            || type == typeof(UIntPtr) || type.IsPointer || typeof(IServiceProvider).IsAssignableFrom(type) || typeof(IDisposable).IsAssignableFrom(type)
            || typeof(INode) == type || (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ValueTask<>)) || type == typeof(ValueTask))
        {
            return $"{shown}, which is not data that JSON can store and restore";
        }

        if (type.IsArray)
        {
            return Unstorable(type.GetElementType()!, path + "[]", depth + 1, seen);
        }

        if (type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var dictionary = Implemented(type, typeof(IDictionary<,>)) ?? Implemented(type, typeof(IReadOnlyDictionary<,>));
            if (dictionary is not null)
            {
                return Unstorable(dictionary.GetGenericArguments()[1], path + "[]", depth + 1, seen);
            }

            var enumerable = Implemented(type, typeof(IEnumerable<>));
            return enumerable is null
                ? $"{shown}, a collection without an element type, which JSON cannot restore"
                : Unstorable(enumerable.GetGenericArguments()[0], path + "[]", depth + 1, seen);
        }

        if ((type.IsInterface || type.IsAbstract) && !type.IsDefined(typeof(JsonPolymorphicAttribute), true) && !type.IsDefined(typeof(JsonDerivedTypeAttribute), true))
        {
            return $"{shown}, which is abstract: JSON cannot tell which type to restore (declare the types with [JsonDerivedType])";
        }

        if (depth >= MaxDepth || !seen.Add(type) || type.IsInterface || type.IsAbstract)
        {
            return null;
        }

        foreach (var property in Stored(type))
        {
            if (Unstorable(property.PropertyType, $"{path}.{property.Name}", depth + 1, seen) is { } why)
            {
                return why;
            }
        }

        return null;
    }

    private static Type? Implemented(Type type, Type definition)
        => type.IsGenericType && type.GetGenericTypeDefinition() == definition
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition);

    private static void LeaveOutFilledInputs(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object || !typeof(INode).IsAssignableFrom(info.Type))
        {
            return;
        }

        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            if (info.Properties[i].AttributeProvider is PropertyInfo property && IsFilledInput(property))
            {
                info.Properties.RemoveAt(i);
            }
        }
    }
}

using System.Security.Cryptography;
using System.Text;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// What a durable graph's checkpoints depend on: each node type's name, its stored members (name and type) and its
/// successors, one line per node type, and a short hash of those lines. Resuming a run with a graph whose
/// fingerprint differs is refused, and <see cref="Differences"/> says what changed.
/// </summary>
internal sealed class GraphFingerprint
{
    private GraphFingerprint(string description)
    {
        Description = description;
        Value = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(description)))[..16];
    }

    /// <summary>The hash: 16 hex digits.</summary>
    public string Value { get; }

    /// <summary>One line per node type, in name order: <c>Name(member: Type, …) -> Successor, …</c>.</summary>
    public string Description { get; }

    /// <summary>
    /// The fingerprint of <paramref name="nodes"/>: their lines, then the lines of each subgraph they run, prefixed with
    /// <c>subgraph Start:</c>, so that a changed child graph changes its parent's fingerprint and is named.
    /// </summary>
    public static GraphFingerprint Of(IReadOnlyList<GraphNode> nodes)
    {
        var lines = nodes.OrderBy(n => n.Name, StringComparer.Ordinal).Select(Line);
        var subgraphs = nodes
            .Select(n => n.Children?.Subgraph)
            .OfType<Graph>()
            .DistinctBy(g => g.Identity)
            .OrderBy(g => g.StartName, StringComparer.Ordinal)
            .SelectMany(g => g.Fingerprint.Description.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => $"subgraph {g.StartName}: {l}"));
        return new(string.Join('\n', lines.Concat(subgraphs)));
    }

    /// <summary>What differs between the description a run was checkpointed with and this one, one line each.</summary>
    public IReadOnlyList<string> Differences(string stored)
    {
        var before = Lines(stored);
        var now = Lines(Description);
        var changes = new List<string>();
        foreach (var (name, line) in before)
        {
            if (!now.TryGetValue(name, out var current))
            {
                changes.Add($"node type '{name}' was removed (it was {line})");
            }
            else if (current != line)
            {
                changes.Add($"node type '{name}' changed: it was {line}, it is now {current}");
            }
        }

        changes.AddRange(now.Keys.Where(name => !before.ContainsKey(name)).Select(name => $"node type '{name}' was added ({now[name]})"));
        return changes;
    }

    private static Dictionary<string, string> Lines(string description)
        => description.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l[..Math.Max(0, l.IndexOf('(', StringComparison.Ordinal))], l => l, StringComparer.Ordinal);

    private static string Line(GraphNode node)
    {
        var members = string.Join(", ", NodeJson.Stored(node.Type).Select(p => $"{p.Name}: {TypeNames.Of(p.PropertyType)}"));
        var successors = node.Successors.Count == 0 ? string.Empty : " -> " + string.Join(", ", node.Successors.Select(s => s.Name).Order(StringComparer.Ordinal));
        var children = node.Children is { } shape
            ? $" => {(shape.IsSubgraph ? "subgraph" : "fan-out")} {shape.Start.Name}: {shape.Result.Name} -> {shape.Next.Name}"
            : string.Empty;
        return $"{node.Name}({members}){successors}{children}";
    }
}

using System.Text;

namespace Dataflow.Graphs;

/// <summary>The graph as a Mermaid flowchart.</summary>
public sealed partial class Graph
{
    /// <summary>
    /// Renders the graph as a Mermaid flowchart: the start node drawn as a rounded box, terminal nodes
    /// as stadiums with the <c>terminal</c> class, every other node as a box; recovery routes as dotted
    /// edges labelled <c>error</c> (<c>A -. error .-> B</c>); a fan-out as a thick edge labelled <c>fan-out</c> to the
    /// children's start and an edge labelled <c>join</c> to the join; a subgraph as a Mermaid <c>subgraph</c> block
    /// holding the other graph (its node ids prefixed with the running node's), entered by an edge labelled <c>runs</c>
    /// and left by one labelled <c>result</c>.
    /// </summary>
    /// <returns>The Mermaid source text.</returns>
    public string ToMermaid()
    {
        var text = new StringBuilder("graph TD\n");
        var terminals = new List<string>();
        Render(text, string.Empty, "    ", terminals);
        if (terminals.Count > 0)
        {
            text.Append("    classDef terminal stroke-width:3px\n");
            text.Append("    class ").Append(string.Join(',', terminals)).Append(" terminal\n");
        }

        return text.ToString();
    }

    /// <summary>Draws this graph's nodes and edges with ids prefixed by <paramref name="prefix"/>, collecting its terminals' ids.</summary>
    private void Render(StringBuilder text, string prefix, string indent, List<string> terminals)
    {
        string Id(Type type) => prefix + MermaidId(NameOf(type));

        foreach (var node in NodeInfos)
        {
            var shape = node.IsTerminal ? $"([\"{node.Name}\"])" : node.Type == Start ? $"(\"{node.Name}\")" : $"[\"{node.Name}\"]";
            text.Append(indent).Append(Id(node.Type)).Append(shape).Append('\n');
            if (node.IsTerminal)
            {
                terminals.Add(Id(node.Type));
            }
        }

        foreach (var node in NodeInfos.Where(n => n.Children?.Subgraph is not null))
        {
            var block = Id(node.Type) + "__" + MermaidId(node.Children!.Subgraph!.StartName);
            text.Append(indent).Append("subgraph ").Append(block).Append("[\"").Append(node.Children.Subgraph.StartName).Append("\"]\n");
            node.Children.Subgraph.Render(text, block + "_", indent + "    ", terminals);
            text.Append(indent).Append("end\n");
            text.Append(indent).Append(Id(node.Type)).Append(" -- runs --> ").Append(block).Append('\n');
        }

        foreach (var edge in Edges)
        {
            var children = Find(edge.From)!.Children;
            var (from, arrow) = children switch
            {
                { Subgraph: { } sub } => (Id(edge.From) + "__" + MermaidId(sub.StartName), " -- result --> "),
                not null => (Id(edge.From), " -- join --> "),
                null => (Id(edge.From), " --> "),
            };
            text.Append(indent).Append(from).Append(arrow).Append(Id(edge.To)).Append('\n');
        }

        foreach (var edge in FanOutEdges)
        {
            text.Append(indent).Append(Id(edge.From)).Append(" == fan-out ==> ").Append(Id(edge.To)).Append('\n');
        }

        foreach (var edge in RecoveryEdges)
        {
            text.Append(indent).Append(Id(edge.From)).Append(" -. error .-> ").Append(Id(edge.To)).Append('\n');
        }
    }

    private static string MermaidId(string name)
    {
        var id = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            id.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }

        return id.ToString();
    }
}

using Dataflow.Dashboard.Http;
using Dataflow.Graphs;
using Microsoft.AspNetCore.Http;

namespace Dataflow.Dashboard.Pages;

/// <summary>The graphs the dashboard was given, each drawn as a layered SVG, with its Mermaid text beside.</summary>
internal static class GraphPage
{
    public static async Task WriteAsync(DashboardApp app, HttpContext context)
    {
        var html = Layout.Begin(app, context, "Graph");
        html.Raw("<h1>Graph</h1>");
        if (app.Options.Graphs.Count == 0)
        {
            html.Raw("<p class=\"empty\">This dashboard was not given a graph to draw (dataflow serve --assembly &lt;dll&gt; --start &lt;NodeType&gt; draws yours).</p>");
        }

        foreach (var graph in app.Options.Graphs)
        {
            html.Raw("<h2>").Text(graph.NameOf(graph.Start)).Raw("</h2>");
            GraphDrawing.Write(html, graph);
            html.Raw("<details><summary>Mermaid</summary><pre class=\"text\">").Text(graph.ToMermaid()).Raw("</pre></details>");
        }

        await Layout.EndAsync(html, context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>
/// Draws a graph in layers: a node's layer is its distance from the start (breadth first over the edges, so cycles
/// need no special case); nodes of one layer stack top to bottom in the order they were found. Forward edges are
/// straight lines, edges back to an earlier or the same layer are curves, recovery edges are dashed.
/// </summary>
internal static class GraphDrawing
{
    private const double NodeWidth = 150;
    private const double NodeHeight = 36;
    private const double LayerGap = 70;
    private const double RowGap = 24;

    public static void Write(Html html, Graph graph)
    {
        var layers = Layers(graph);
        var positions = new Dictionary<Type, (double X, double Y)>();
        var depth = layers.Max(l => l.Count);
        foreach (var (layer, index) in layers.Select((l, i) => (l, i)))
        {
            var offset = (depth - layer.Count) * (NodeHeight + RowGap) / 2;
            for (var row = 0; row < layer.Count; row++)
            {
                positions[layer[row]] = (20 + index * (NodeWidth + LayerGap), 20 + offset + row * (NodeHeight + RowGap));
            }
        }

        var width = 40 + layers.Count * (NodeWidth + LayerGap) - LayerGap;
        var height = 40 + depth * (NodeHeight + RowGap) - RowGap;
        html.Raw("<svg class=\"graph\" role=\"img\" aria-label=\"graph\" viewBox=\"0 0 ").Raw(Timeline.N(width)).Raw(" ").Raw(Timeline.N(height))
            .Raw("\" width=\"").Raw(Timeline.N(width)).Raw("\" height=\"").Raw(Timeline.N(height)).Raw("\">")
            .Raw("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\"/></marker></defs>");
        foreach (var edge in graph.Edges)
        {
            Edge(html, positions[edge.From], positions[edge.To], "edge");
        }

        foreach (var edge in graph.RecoveryEdges)
        {
            Edge(html, positions[edge.From], positions[edge.To], "edge recovery");
        }

        foreach (var (type, (x, y)) in positions)
        {
            var kind = type == graph.Start ? "node start" : graph.TerminalNodes.Contains(type) ? "node terminal" : "node";
            var name = graph.NameOf(type);
            html.Raw("<g class=\"").Raw(kind).Raw("\"><title>").Text(type.FullName ?? name).Raw("</title><rect x=\"").Raw(Timeline.N(x)).Raw("\" y=\"").Raw(Timeline.N(y))
                .Raw("\" width=\"").Raw(Timeline.N(NodeWidth)).Raw("\" height=\"").Raw(Timeline.N(NodeHeight)).Raw("\" rx=\"").Raw(kind.Contains("terminal", StringComparison.Ordinal) ? "18" : "4").Raw("\"/>")
                .Raw("<text x=\"").Raw(Timeline.N(x + NodeWidth / 2)).Raw("\" y=\"").Raw(Timeline.N(y + NodeHeight / 2 + 5)).Raw("\">")
                .Text(name.Length <= 20 ? name : string.Concat(name.AsSpan(0, 19), "…")).Raw("</text></g>");
        }

        html.Raw("</svg>");
    }

    private static List<List<Type>> Layers(Graph graph)
    {
        var layerOf = new Dictionary<Type, int> { [graph.Start] = 0 };
        var queue = new Queue<Type>([graph.Start]);
        var successors = graph.Edges.Concat(graph.RecoveryEdges).ToLookup(e => e.From, e => e.To);
        while (queue.TryDequeue(out var node))
        {
            foreach (var next in successors[node])
            {
                if (layerOf.TryAdd(next, layerOf[node] + 1))
                {
                    queue.Enqueue(next);
                }
            }
        }

        // Nodes not reachable through edges (none in a valid graph) go in the last layer rather than nowhere.
        var last = layerOf.Count == 0 ? 0 : layerOf.Values.Max();
        foreach (var node in graph.Nodes.Where(n => !layerOf.ContainsKey(n)))
        {
            layerOf[node] = last;
        }

        return [.. layerOf.GroupBy(p => p.Value).OrderBy(g => g.Key).Select(g => g.Select(p => p.Key).ToList())];
    }

    private static void Edge(Html html, (double X, double Y) from, (double X, double Y) to, string kind)
    {
        var (x1, y1) = (from.X + NodeWidth, from.Y + NodeHeight / 2);
        var (x2, y2) = (to.X, to.Y + NodeHeight / 2);
        string path;
        if (to.X > from.X)
        {
            path = $"M {Timeline.N(x1)} {Timeline.N(y1)} C {Timeline.N(x1 + LayerGap / 2)} {Timeline.N(y1)}, {Timeline.N(x2 - LayerGap / 2)} {Timeline.N(y2)}, {Timeline.N(x2)} {Timeline.N(y2)}";
        }
        else
        {
            // Back to an earlier (or the same) layer: loop below the nodes.
            var bottom = Math.Max(from.Y, to.Y) + NodeHeight + RowGap * 0.8;
            path = $"M {Timeline.N(from.X + NodeWidth / 2)} {Timeline.N(from.Y + NodeHeight)} C {Timeline.N(from.X + NodeWidth / 2)} {Timeline.N(bottom)}, {Timeline.N(to.X + NodeWidth / 2)} {Timeline.N(bottom)}, {Timeline.N(to.X + NodeWidth / 2)} {Timeline.N(to.Y + NodeHeight)}";
        }

        html.Raw("<path class=\"").Raw(kind).Raw("\" d=\"").Raw(path).Raw("\" marker-end=\"url(#arrow)\"/>");
    }
}

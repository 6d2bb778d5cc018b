using Dataflow.Engine;
using Dataflow.Graphs;
using NUnit.Framework;

namespace Dataflow.Tests.Readme.FanOut;

// The README's fan-out and subgraph example, with the bodies it leaves out filled in, so that it stays true.
public sealed record Order(string Id, string[] Skus) : INode<FanOut<PriceLine, LinePrice, Total>>
{
    public ValueTask<FanOut<PriceLine, LinePrice, Total>> RunAsync(NodeContext context) =>
        ValueTask.FromResult(new FanOut<PriceLine, LinePrice, Total>(
            Skus.Select(sku => new PriceLine(sku)),
            results => new Total(Id, results.Values.Sum(p => p.Cents), results.FailedCount))
        {
            Policy = FanOutPolicy.Settle,
            MaxInFlight = 8,
        });
}

public sealed record PriceLine(string Sku) : INode<LinePrice>
{
    public ValueTask<LinePrice> RunAsync(NodeContext context)
        => Sku.StartsWith('x') ? throw new KeyNotFoundException(Sku) : ValueTask.FromResult(new LinePrice(Sku, Sku.Length * 100));
}

public sealed record LinePrice(string Sku, int Cents) : INode;

public sealed record Total(string Order, int Cents, int Failed) : INode<Invoiced>
{
    public ValueTask<Invoiced> RunAsync(NodeContext context) => ValueTask.FromResult(new Invoiced(Order, Cents, Failed));
}

public sealed record Invoiced(string Order, int Cents, int Failed) : INode;

public sealed record Scan(string File) : INode<Subgraph<Ocr, Recognized, Archive>>
{
    public ValueTask<Subgraph<Ocr, Recognized, Archive>> RunAsync(NodeContext context) =>
        ValueTask.FromResult(new Subgraph<Ocr, Recognized, Archive>(new Ocr(File), text => new Archive(File, text.Text)));
}

public sealed record Ocr(string File) : INode<Recognized>
{
    public ValueTask<Recognized> RunAsync(NodeContext context) => ValueTask.FromResult(new Recognized($"text of {File}"));
}

public sealed record Recognized(string Text) : INode;

public sealed record Archive(string File, string Text) : INode;

[TestFixture]
public sealed class ReadmeFanOutTests
{
    [Test]
    public async Task FanOutAndSubgraph_RunAsTheReadmeSays()
    {
        await using var engine = new GraphEngine();
        var order = await engine.SubmitAsync(Graph.Create<Order>(), new Order("o-1", ["ab", "xyz", "abcd"]));
        var ocr = Graph.Create<Ocr>(new GraphOptions { MaxDegreeOfParallelism = 2 });
        var scans = Graph.Create<Scan>(new GraphOptions().Subgraph(ocr));
        var scan = await engine.SubmitAsync(scans, new Scan("a.png"));
        await Task.WhenAll(order.Completion, scan.Completion).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(order.GetResult<Invoiced>(), Is.EqualTo(new Invoiced("o-1", 600, 1)));
        Assert.That(scan.GetResult<Archive>(), Is.EqualTo(new Archive("a.png", "text of a.png")));
        Assert.That(Graph.Create<Order>().ToMermaid(), Does.Contain("Order == fan-out ==> PriceLine").And.Contain("Order -- join --> Total"));
    }
}

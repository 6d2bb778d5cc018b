using System.Text.Json.Serialization;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Sqlite.Tests.Readme;

// The README's durable fan-out example (under "Durable runs"), with the bodies it leaves out filled in, so that it stays true.
public sealed record Order(string Id, string[] Skus) : INode<FanOut<PriceLine, LinePrice, Total>>
{
    public ValueTask<FanOut<PriceLine, LinePrice, Total>> RunAsync(NodeContext context) =>
        ValueTask.FromResult(new FanOut<PriceLine, LinePrice, Total>(Skus.Select(sku => new PriceLine(sku)))   // no join function
        {
            Policy = FanOutPolicy.Settle,
        });
}

public sealed record PriceLine(string Sku) : INode<LinePrice>
{
    public ValueTask<LinePrice> RunAsync(NodeContext context)
        => Sku.StartsWith('x') ? throw new KeyNotFoundException(Sku) : ValueTask.FromResult(new LinePrice(Sku, Sku.Length * 100));
}

public sealed record LinePrice(string Sku, int Cents) : INode;

public sealed record Total : INode<Invoiced>
{
    public Total(FanOutResults<LinePrice> results)                   // the join, also after a crash
        : this(results.Values.Sum(p => p.Cents), results.FailedCount) { }

    [JsonConstructor]
    public Total(int cents, int failed) => (Cents, Failed) = (cents, failed);   // restored from a checkpoint

    public int Cents { get; }
    public int Failed { get; }

    [Recall]
    public Order? Order { get; set; }                               // the parent's start node

    public ValueTask<Invoiced> RunAsync(NodeContext context) => ValueTask.FromResult(new Invoiced(Order!.Id, Cents, Failed));
}

public sealed record Invoiced(string Order, int Cents, int Failed) : INode;

public sealed class ReadmeDurableFanOutTests : StoreTestBase
{
    [Test]
    public async Task TheReadmesDurableFanOut_Runs_AndIsCheckpointed()
    {
        var store = Open();
        await using var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints });
        var graph = Graph.Create<Order>(new GraphOptions { Durable = true });
        var run = await engine.SubmitAsync(graph, new Order("o-1", ["ab", "x9", "abc"]));
        await run.Completion.WaitAsync(Guard);
        await store.Checkpoints.FlushAsync();
        Assert.That(run.GetResult<Invoiced>(), Is.EqualTo(new Invoiced("o-1", 500, 1)));
        Assert.That(store.RunCheckpoints($"{run.Id}/2")[^1].Error, Is.EqualTo("KeyNotFoundException: x9"));
    }
}

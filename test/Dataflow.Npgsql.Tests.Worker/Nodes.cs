using Dataflow.Graphs;

namespace Dataflow.Npgsql.Tests.Worker;

/// <summary>Where every node execution is appended, one line "id node", flushed at once (a SIGKILL loses none written).</summary>
internal static class SideFile
{
    private static readonly Lock Gate = new();

    public static StreamWriter? Writer { get; set; }

    public static void Executed(int id, string node) => Executed(id.ToString(System.Globalization.CultureInfo.InvariantCulture), node);

    public static void Executed(string key, string node)
    {
        lock (Gate)
        {
            Writer?.WriteLine($"{key} {node}");
        }
    }
}

public sealed record Item(int Id) : INode<Double>
{
    public async ValueTask<Double> RunAsync(NodeContext context)
    {
        await Task.Yield();
        SideFile.Executed(Id, nameof(Item));
        return new Double(Id, 2 * Id);
    }
}

public sealed record Double(int Id, int Value) : INode<Add>
{
    public async ValueTask<Add> RunAsync(NodeContext context)
    {
        await Task.Yield();
        SideFile.Executed(Id, nameof(Double));
        return new Add(Id, Value);
    }
}

public sealed record Add(int Id, int Value) : INode<Total>
{
    public async ValueTask<Total> RunAsync(NodeContext context)
    {
        await Task.Yield();
        SideFile.Executed(Id, nameof(Add));
        return new Total(Id, Value + Id);
    }
}

public sealed record Total(int Id, int Sum) : INode;

/// <summary>A durable fan-out: a bundle cut into five pieces, packed by its join.</summary>
public sealed record Bundle(int Id) : INode<FanOut<Piece, Cut, Packed>>
{
    public const int Pieces = 5;

    public async ValueTask<FanOut<Piece, Cut, Packed>> RunAsync(NodeContext context)
    {
        await Task.Yield();
        SideFile.Executed(Id, nameof(Bundle));
        return new FanOut<Piece, Cut, Packed>(Enumerable.Range(0, Pieces).Select(i => new Piece(Id, i))) { MaxInFlight = 2 };
    }
}

public sealed record Piece(int Id, int Index) : INode<Cut>
{
    public async ValueTask<Cut> RunAsync(NodeContext context)
    {
        await Task.Yield();
        SideFile.Executed($"{Id}.{Index}", nameof(Piece));
        return new Cut(Id, Index, (Id * 10) + Index);
    }
}

public sealed record Cut(int Id, int Index, int Value) : INode;

public sealed record Packed : INode<Shipped>
{
    [System.Text.Json.Serialization.JsonConstructor]
    public Packed(int id, int sum, bool inOrder) => (Id, Sum, InOrder) = (id, sum, inOrder);

    public Packed(FanOutResults<Cut> results)
        : this(results.Values[0].Id, results.Values.Sum(c => c.Value), results.Values.Select(c => c.Index).SequenceEqual(Enumerable.Range(0, Bundle.Pieces)))
    {
    }

    public int Id { get; }

    public int Sum { get; }

    public bool InOrder { get; }

    public async ValueTask<Shipped> RunAsync(NodeContext context)
    {
        await Task.Yield();
        SideFile.Executed(Id, nameof(Packed));
        return new Shipped(Id, InOrder ? Sum : -1);
    }
}

public sealed record Shipped(int Id, int Sum) : INode;

using Dataflow.Graphs;

namespace Dataflow.Npgsql.Tests.Worker;

/// <summary>Where every node execution is appended, one line "id node", flushed at once (a SIGKILL loses none written).</summary>
internal static class SideFile
{
    private static readonly Lock Gate = new();

    public static StreamWriter? Writer { get; set; }

    public static void Executed(int id, string node)
    {
        lock (Gate)
        {
            Writer?.WriteLine($"{id} {node}");
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

using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Dapper;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests.Child;

/// <summary>
/// The durable fan-out batch of the crash tests. <c>fanout run &lt;db&gt; &lt;parents&gt; &lt;side file&gt; [n]</c> submits
/// parents 0..parents-1, each fanning out to 20 children (even parents settle, odd ones fail fast; some children fail;
/// every tenth parent's first child fans out again, and the sixth's second child runs a subgraph), every node appending
/// "&lt;key&gt; &lt;node&gt;" to the side file per execution. Once n lines are written every node holds after its line and the
/// child prints "holding", to be killed there. <c>fanout resume &lt;db&gt; &lt;parents&gt; &lt;side file&gt;</c> resumes the
/// unfinished parents, submits those that never started, waits for all and prints "done resumed=R finished=F fresh=N".
/// </summary>
internal static class FanOutChild
{
    public const int MaxInFlight = 64;

    public const int Children = 20;

    public static async Task<int> RunAsync(string[] args)
    {
        var (mode, path, count, side) = (args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
        SideFile.HoldAfterLines = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : -1;
        SideFile.Open(side);
        var store = new SessionStore(path, new SessionStoreOptions { DurableCommits = false });
        var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints, HistoryCapacity = 0 });
        var graph = Graph.Create<FanParent>(new GraphOptions { Durable = true, MaxRunsInFlight = MaxInFlight, MaxDegreeOfParallelism = GraphOptions.Unbounded });
        var runs = new ConcurrentBag<Task>();
        var options = new RunOptions { Policy = OutputPolicy.Silent };
        if (mode == "run")
        {
            for (var p = 0; p < count; p++)
            {
                runs.Add((await engine.SubmitAsync(graph, new FanParent(p), options)).Completion);
            }

            await Task.WhenAll(runs);
            await engine.DisposeAsync();
            await store.DisposeAsync();
            Console.Out.WriteLine("finished without a kill");
            return 0;
        }

        var resumed = await engine.ResumeAsync(graph);
        foreach (var run in resumed.Resumed)
        {
            runs.Add(run.Completion);
        }

        var started = StartedParents(path);
        var fresh = 0;
        for (var p = 0; p < count; p++)
        {
            if (!started.Contains(p))
            {
                fresh++;
                runs.Add((await engine.SubmitAsync(graph, new FanParent(p), options)).Completion);
            }
        }

        await Task.WhenAll(runs);
        await engine.DisposeAsync();
        await store.DisposeAsync();
        Console.Out.WriteLine($"done resumed={resumed.Resumed.Count} finished={resumed.FinishedEarlier} fresh={fresh}");
        return 0;
    }

    /// <summary>Whether child <paramref name="index"/> of parent <paramref name="parent"/> fails: one in a third of the settling parents, one in a third of the fail-fast ones.</summary>
    public static bool Fails(int parent, int index) => (parent % 6 == 0 && index == 7) || (parent % 6 == 3 && index == 11);

    private static HashSet<int> StartedParents(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        return [.. connection.Query<byte[]>("SELECT body FROM checkpoint_log ORDER BY id")
            .SelectMany(body => CheckpointLog.Decode(body, string.Empty, string.Empty))
            .Where(c => c is { Sequence: 0, Parent: null, RerunOf: null, NodeType: nameof(FanParent) })
            .Select(c => JsonDocument.Parse(c.Node).RootElement.GetProperty("P").GetInt32())];
    }
}

public sealed record FanParent(int P) : INode<FanOut<FanChild, FanLeaf, FanJoin>>
{
    public async ValueTask<FanOut<FanChild, FanLeaf, FanJoin>> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"p{P}", "parent");
        return new FanOut<FanChild, FanLeaf, FanJoin>(Enumerable.Range(0, FanOutChild.Children).Select(i => new FanChild(P, i)))
        {
            Policy = P % 2 == 0 ? FanOutPolicy.Settle : FanOutPolicy.FailFast,
            MaxInFlight = 4,
        };
    }
}

public interface IFanChildNext : INode;

public sealed record FanChild(int P, int I) : INode<IFanChildNext>
{
    public async ValueTask<IFanChildNext> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"c{P}.{I}", "child");
        await Task.Yield();
        if (FanOutChild.Fails(P, I))
        {
            throw new InvalidOperationException($"child {P}.{I} fails");
        }

        return (P % 10, I) switch
        {
            (0, 0) => new FanNest(P, I),
            (5, 1) => new FanSub(P, I),
            _ => new FanLeaf(P, I, (P * 100) + I),
        };
    }
}

public sealed record FanLeaf(int P, int I, int Value) : IFanChildNext;

public sealed record FanNest(int P, int I) : INode<FanOut<FanGrand, FanLeaf, FanNestJoin>>, IFanChildNext
{
    public async ValueTask<FanOut<FanGrand, FanLeaf, FanNestJoin>> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"c{P}.{I}", "nest");
        return new FanOut<FanGrand, FanLeaf, FanNestJoin>(Enumerable.Range(0, 3).Select(g => new FanGrand(P, I, g))) { Policy = FanOutPolicy.Settle, MaxInFlight = 2 };
    }
}

public sealed record FanGrand(int P, int I, int G) : INode<FanLeaf>
{
    public async ValueTask<FanLeaf> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"g{P}.{I}.{G}", "grand");
        return new FanLeaf(P, I, G + 1);
    }
}

public sealed record FanNestJoin : INode<FanLeaf>
{
    [JsonConstructor]
    public FanNestJoin(int p, int i, int sum) => (P, I, Sum) = (p, i, sum);

    public FanNestJoin(FanOutResults<FanLeaf> results)
        : this(results.Values[0].P, results.Values[0].I, results.Values.Sum(v => v.Value))
    {
    }

    public int P { get; }

    public int I { get; }

    public int Sum { get; }

    public async ValueTask<FanLeaf> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"c{P}.{I}", "nestjoin");
        return new FanLeaf(P, I, Sum);
    }
}

public sealed record FanSub(int P, int I) : INode<Subgraph<SubStart, SubEnd, FanSubJoin>>, IFanChildNext
{
    public async ValueTask<Subgraph<SubStart, SubEnd, FanSubJoin>> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"c{P}.{I}", "sub");
        return new Subgraph<SubStart, SubEnd, FanSubJoin>(new SubStart(P, I));
    }
}

public sealed record SubStart(int P, int I) : INode<SubEnd>
{
    public async ValueTask<SubEnd> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"s{P}.{I}", "substart");
        return new SubEnd(P, I, 7);
    }
}

public sealed record SubEnd(int P, int I, int Value) : INode;

public sealed record FanSubJoin(SubEnd End) : INode<FanLeaf>
{
    public async ValueTask<FanLeaf> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"c{End.P}.{End.I}", "subjoin");
        return new FanLeaf(End.P, End.I, End.Value);
    }
}

/// <summary>The parent's join: what it got, whether in item order; made by its constructor, restored from its JSON.</summary>
public sealed record FanJoin : INode<FanDone>
{
    [JsonConstructor]
    public FanJoin(int count, int failed, long sum, bool inOrder) => (Count, Failed, Sum, InOrder) = (count, failed, sum, inOrder);

    public FanJoin(FanOutResults<FanLeaf> results)
        : this(results.Count, results.FailedCount, results.Values.Sum(v => (long)v.Value), results.Where(r => r.Succeeded).All(r => r.Result!.I == r.Index))
    {
    }

    public int Count { get; }

    public int Failed { get; }

    public long Sum { get; }

    public bool InOrder { get; }

    [Recall]
    public FanParent? Parent { get; set; }

    public async ValueTask<FanDone> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync($"p{Parent!.P}", "join");
        return new FanDone(Parent.P, Count, Failed, Sum, InOrder);
    }
}

public sealed record FanDone(int P, int Count, int Failed, long Sum, bool InOrder) : INode;

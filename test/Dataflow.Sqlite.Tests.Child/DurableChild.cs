using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;
using Microsoft.Data.Sqlite;

namespace Dataflow.Sqlite.Tests.Child;

/// <summary>
/// The durable batch of the crash tests. <c>durable run &lt;db&gt; &lt;count&gt; &lt;side file&gt;</c> submits inputs 0..count-1
/// through a durable 3-node graph whose nodes append "&lt;id&gt; &lt;node&gt;" to the side file per execution, printing
/// "progress &lt;n&gt;" every 250 finished runs and "flushing" before the final flush; the parent kills it with SIGKILL.
/// <c>durable resume &lt;db&gt; &lt;count&gt; &lt;side file&gt;</c> resumes the unfinished runs, submits the inputs that never got
/// a run, waits for all, and prints "done resumed=R finished=F fresh=N".
/// </summary>
internal static class DurableChild
{
    public const int MaxInFlight = 256;

    public static async Task<int> RunAsync(string[] args)
    {
        var (mode, path, count, side) = (args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
        SideFile.Open(side);
        // A SIGKILL loses no committed write without fsync (the operating system keeps it), so commits are not synced: faster tests.
        var store = new SessionStore(path, new SessionStoreOptions { DurableCommits = false });
        var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints, HistoryCapacity = 0, CheckpointCommit = Environment.GetEnvironmentVariable("WB") == "1" ? Dataflow.Checkpoints.CheckpointCommitMode.WriteBehind : Dataflow.Checkpoints.CheckpointCommitMode.GroupCommit });
        var graph = Graph.Create<CrashStart>(new GraphOptions { Durable = Environment.GetEnvironmentVariable("NODUR") != "1", MaxRunsInFlight = MaxInFlight, MaxDegreeOfParallelism = GraphOptions.Unbounded });
        var finished = 0;
        var runs = new ConcurrentBag<Task>();
        void Track(GraphRun run) => runs.Add(run.Completion.ContinueWith(
            _ =>
            {
                var n = Interlocked.Increment(ref finished);
                if (n % 250 == 0)
                {
                    Console.Out.WriteLine($"progress {n}");
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default));

        var options = new RunOptions { Policy = OutputPolicy.Silent };
        if (mode == "run")
        {
            for (var i = 0; i < count; i++)
            {
                Track(await engine.SubmitAsync(graph, new CrashStart(i), options));
            }

            await Task.WhenAll(runs);
            Console.Out.WriteLine("flushing");
            await engine.DisposeAsync();
            await store.DisposeAsync();
            Console.Out.WriteLine("closed");
            return 0;
        }

        var resumed = await engine.ResumeAsync(graph);
        foreach (var run in resumed.Resumed)
        {
            Track(run);
        }

        // Inputs whose run never committed its start checkpoint are run now.
        var started = StartedInputs(path);
        var fresh = 0;
        for (var i = 0; i < count; i++)
        {
            if (!started.Contains(i))
            {
                fresh++;
                Track(await engine.SubmitAsync(graph, new CrashStart(i), options));
            }
        }

        await Task.WhenAll(runs);
        await engine.DisposeAsync();
        await store.DisposeAsync();
        Console.Out.WriteLine($"done resumed={resumed.Resumed.Count} finished={resumed.FinishedEarlier} fresh={fresh}");
        return 0;
    }

    private static HashSet<int> StartedInputs(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        return [.. connection.Query<string>("SELECT node FROM checkpoints WHERE seq = 0 AND rerun_of IS NULL").Select(n => JsonDocument.Parse(n).RootElement.GetProperty("Id").GetInt32())];
    }
}

/// <summary>One line per node execution, written through to the operating system (so a SIGKILL loses none).</summary>
internal static class SideFile
{
    private static readonly Lock Gate = new();
    private static FileStream? _file;

    public static void Open(string path) => _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);

    public static void Append(int id, string node)
    {
        var line = Encoding.UTF8.GetBytes($"{id} {node}\n");
        lock (Gate)
        {
            _file!.Write(line);
            _file.Flush();
        }
    }
}

public sealed record CrashStart(int Id) : INode<CrashMiddle>
{
    public async ValueTask<CrashMiddle> RunAsync(NodeContext context)
    {
        SideFile.Append(Id, "start");
        await Task.Yield();
        return new CrashMiddle(Id, Id * 3);
    }
}

public sealed record CrashMiddle(int Id, int Value) : INode<CrashEnd>
{
    [Recall]
    public CrashStart? Start { get; set; }

    public async ValueTask<CrashEnd> RunAsync(NodeContext context)
    {
        SideFile.Append(Id, "middle");
        await Task.Yield();
        return new CrashEnd(Id, Value + Start!.Id);
    }
}

public sealed record CrashEnd(int Id, int Total) : INode<CrashDone>
{
    public async ValueTask<CrashDone> RunAsync(NodeContext context)
    {
        SideFile.Append(Id, "end");
        await Task.Yield();
        return new CrashDone(Id, Total);
    }
}

public sealed record CrashDone(int Id, int Total) : INode;

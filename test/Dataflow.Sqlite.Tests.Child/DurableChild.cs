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
/// "flushing" before the final flush. With a fifth argument n, once n runs have finished every node that executes from
/// then on holds after writing its line, and the child prints "holding": the parent kills it there with SIGKILL, so
/// that nodes are executing at the kill whatever the machine's load.
/// <c>durable resume &lt;db&gt; &lt;count&gt; &lt;side file&gt;</c> resumes the unfinished runs, submits the inputs that never got
/// a run, waits for all, and prints "done resumed=R finished=F fresh=N".
/// </summary>
internal static class DurableChild
{
    public const int MaxInFlight = 256;

    public static async Task<int> RunAsync(string[] args)
    {
        var (mode, path, count, side) = (args[0], args[1], int.Parse(args[2], CultureInfo.InvariantCulture), args[3]);
        var holdAt = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : -1;
        SideFile.Open(side);
        // A SIGKILL loses no committed write without fsync (the operating system keeps it), so commits are not synced: faster tests.
        var store = new SessionStore(path, new SessionStoreOptions { DurableCommits = false });
        var engine = new GraphEngine(new GraphEngineOptions { Checkpoints = store.Checkpoints, HistoryCapacity = 0 });
        var graph = Graph.Create<CrashStart>(new GraphOptions { Durable = true, MaxRunsInFlight = MaxInFlight, MaxDegreeOfParallelism = GraphOptions.Unbounded });
        var finished = 0;
        var runs = new ConcurrentBag<Task>();
        void Track(GraphRun run) => runs.Add(run.Completion.ContinueWith(
            _ =>
            {
                if (Interlocked.Increment(ref finished) == holdAt)
                {
                    SideFile.Holding = true;
                    Console.Out.WriteLine("holding");
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
        return [.. connection.Query<byte[]>("SELECT body FROM checkpoint_log ORDER BY id")
            .SelectMany(body => CheckpointLog.Decode(body, string.Empty, string.Empty))
            .Where(c => c.Sequence == 0 && c.RerunOf is null)
            .Select(c => c.Node).Select(n => JsonDocument.Parse(n).RootElement.GetProperty("Id").GetInt32())];
    }
}

/// <summary>One line per node execution, written through to the operating system (so a SIGKILL loses none).</summary>
internal static class SideFile
{
    private static readonly Lock Gate = new();
    private static readonly TaskCompletionSource Never = new();
    private static FileStream? _file;

    private static int _lines;

    /// <summary>Once set, every node holds after writing its line, until the process is killed.</summary>
    public static bool Holding { get; set; }

    /// <summary>When positive: once this many lines are written, <see cref="Holding"/> is set and "holding" printed.</summary>
    public static int HoldAfterLines { get; set; }

    /// <summary>Appends the line, then holds while <see cref="Holding"/>.</summary>
    public static Task ExecutedAsync(int id, string node) => ExecutedAsync(id.ToString(CultureInfo.InvariantCulture), node);

    /// <summary>Appends "<paramref name="key"/> <paramref name="node"/>", then holds while <see cref="Holding"/>.</summary>
    public static Task ExecutedAsync(string key, string node)
    {
        Append(key, node);
        return Holding ? Never.Task : Task.CompletedTask;
    }

    public static void Open(string path) => _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);

    public static void Append(int id, string node) => Append(id.ToString(CultureInfo.InvariantCulture), node);

    public static void Append(string key, string node)
    {
        var line = Encoding.UTF8.GetBytes($"{key} {node}\n");
        lock (Gate)
        {
            _file!.Write(line);
            _file.Flush();
            if (++_lines == HoldAfterLines)
            {
                Holding = true;
                Console.Out.WriteLine("holding");
            }
        }
    }
}

public sealed record CrashStart(int Id) : INode<CrashMiddle>
{
    public async ValueTask<CrashMiddle> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync(Id, "start");
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
        await SideFile.ExecutedAsync(Id, "middle");
        await Task.Yield();
        return new CrashEnd(Id, Value + Start!.Id);
    }
}

public sealed record CrashEnd(int Id, int Total) : INode<CrashDone>
{
    public async ValueTask<CrashDone> RunAsync(NodeContext context)
    {
        await SideFile.ExecutedAsync(Id, "end");
        await Task.Yield();
        return new CrashDone(Id, Total);
    }
}

public sealed record CrashDone(int Id, int Total) : INode;

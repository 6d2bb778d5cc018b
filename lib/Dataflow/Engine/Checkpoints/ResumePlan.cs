using System.Globalization;
using System.Text;
using System.Text.Json;
using Dataflow.Checkpoints;
using Dataflow.Graphs;

namespace Dataflow.Engine.Checkpoints;

/// <summary>
/// An unfinished run read back from its latest checkpoint, ready to start: its node and recallable trace restored, and,
/// when it waited for children, the fan-out it waits for (<see cref="FanOut"/>). Made for every run to resume before any
/// of them starts, so that a checkpoint that cannot be read resumes nothing.
/// </summary>
/// <param name="Checkpoint">The run's latest checkpoint.</param>
/// <param name="Network">The network of the run's graph (a subgraph child's is its own graph's).</param>
/// <param name="Node">Its next node; for a run waiting for children, the node that returned the fan-out.</param>
/// <param name="Trace">The earlier nodes a recall can reach, oldest first.</param>
/// <param name="FanOut">The fan-out it waits for; null for a run that goes back into its network.</param>
internal sealed record ResumedRun(RunCheckpoint Checkpoint, GraphNetwork Network, INode Node, IReadOnlyList<INode> Trace, ResumedFanOut? FanOut);

/// <summary>
/// A fan-out (or subgraph step) that a resumed parent waits for, as its checkpoint recorded it, with where each child
/// stood: finished (its final checkpoint and, when Done, its result), unfinished (to resume), or never started.
/// </summary>
/// <param name="Network">The children's network.</param>
/// <param name="Policy">The fan-out's policy.</param>
/// <param name="MaxInFlight">Its bound on children in flight.</param>
/// <param name="First">The first child's number.</param>
/// <param name="Items">The children's start nodes, in item order.</param>
/// <param name="Children">Where the child of each item stood, in item order.</param>
internal sealed record ResumedFanOut(GraphNetwork Network, FanOutPolicy Policy, int MaxInFlight, int First, IReadOnlyList<INode> Items, ResumedChild[] Children) : IChildRunRequest
{
    IEnumerable<INode> IChildRunRequest.Children => Items;

    bool IChildRunRequest.HasJoinFunction => false;

    INode? IChildRunRequest.Join(ChildOutcomes outcomes, ChildShape shape) => shape.MakeJoin(outcomes);
}

/// <summary>Where one child of a resumed fan-out stood: all null when it never started.</summary>
/// <param name="Final">Its final checkpoint, when it had ended.</param>
/// <param name="Result">Its result, when it ended Done.</param>
/// <param name="Unfinished">The child to resume, when it had started and not ended.</param>
internal readonly record struct ResumedChild(RunCheckpoint? Final, INode? Result, ResumedRun? Unfinished)
{
    /// <summary>The error a finished child that did not end Done hands to its fan-out.</summary>
    public Exception RecordedError()
    {
        var final = Final!;
        if (final.State == CheckpointState.Cancelled)
        {
            return new OperationCanceledException($"Run {final.RunId} was cancelled{(final.Error is { } e ? $" ({e})" : string.Empty)}.");
        }

        var error = final.Error ?? "Exception: (no message recorded)";
        var colon = error.IndexOf(": ", StringComparison.Ordinal);
        return new RecordedFailureException(colon < 0 ? error : error[(colon + 2)..])
        {
            RecordedType = colon < 0 ? null : error[..colon],
            RunId = final.RunId,
        };
    }
}

/// <summary>
/// Reads unfinished runs back for a resume (<see cref="ResumedRun"/>), level by level: the runs, then the children of
/// those that wait for children (one store read per level), then theirs.
/// </summary>
internal sealed class ResumePlanner(ICheckpointStore store, Func<Graph, GraphNetwork?> networks)
{
    /// <summary>The stored form of a fan-out a parent waits for (<see cref="RunCheckpoint.Children"/>).</summary>
    public static string ChildrenJson(FanOutPolicy policy, int maxInFlight, int first, IReadOnlyList<INode> items, Graph childGraph)
    {
        var json = new StringBuilder(64 + (items.Count * 48));
        json.Append(CultureInfo.InvariantCulture, $"{{\"policy\":\"{policy}\",\"max\":{maxInFlight},\"first\":{first},\"items\":[");
        for (var i = 0; i < items.Count; i++)
        {
            json.Append(i == 0 ? "{\"t\":" : ",{\"t\":").Append(JsonSerializer.Serialize(childGraph.NameOf(items[i].GetType()))).Append(",\"v\":").Append(NodeJson.Serialize(items[i])).Append('}');
        }

        return json.Append("]}").ToString();
    }

    /// <summary>Reads back the runs of <paramref name="checkpoints"/> (latest checkpoints of <paramref name="network"/>'s graph) and, for those waiting, their children.</summary>
    public async Task<List<ResumedRun>> PlanAsync(GraphNetwork network, IReadOnlyList<RunCheckpoint> checkpoints, CancellationToken cancellationToken)
    {
        var recorder = network.Recorder!;
        var runs = new List<ResumedRun>(checkpoints.Count);
        var waiting = new List<(int Index, ChildShape Shape, GraphNetwork Children, FanOutPolicy Policy, int Max, int First, IReadOnlyList<INode> Items)>();
        foreach (var checkpoint in checkpoints)
        {
            var node = recorder.ReadNode(checkpoint.NodeType, checkpoint.Node);
            var trace = recorder.ReadTrace(checkpoint.Trace);
            if (checkpoint.State == CheckpointState.AwaitingChildren)
            {
                var shape = network.Graph.Find(node.GetType())?.Children
                    ?? throw new GraphChangedException($"Run '{checkpoint.RunId}' of graph '{network.Graph.StartName}' waits for the children of a '{checkpoint.NodeType}', which no longer fans out or runs a subgraph.");
                var children = shape.Subgraph is { } subgraph
                    ? networks(subgraph) ?? throw new ObjectDisposedException(nameof(GraphEngine))
                    : network;
                var (policy, max, first, items) = ReadChildren(checkpoint, children.Recorder!);
                waiting.Add((runs.Count, shape, children, policy, max, first, items));
            }

            runs.Add(new ResumedRun(checkpoint, network, node, trace, null));
        }

        if (waiting.Count == 0)
        {
            return runs;
        }

        // One read for the children of every waiting run of this level.
        var owners = new Dictionary<string, GraphNetwork>(StringComparer.Ordinal);
        foreach (var wait in waiting)
        {
            for (var i = 0; i < wait.Items.Count; i++)
            {
                owners[ChildId(runs[wait.Index].Checkpoint.RunId, wait.First + i)] = wait.Children;
            }
        }

        var latest = (await store.LoadLatestAsync(owners.Keys, cancellationToken).ConfigureAwait(false)).ToDictionary(c => c.RunId, StringComparer.Ordinal);
        var unfinished = new Dictionary<GraphNetwork, List<RunCheckpoint>>();
        foreach (var checkpoint in latest.Values.Where(c => !c.IsFinal).OrderBy(c => c.RunId, StringComparer.Ordinal))
        {
            var children = owners[checkpoint.RunId];
            (unfinished.TryGetValue(children, out var list) ? list : unfinished[children] = []).Add(checkpoint);
        }

        var resumed = new Dictionary<string, ResumedRun>(StringComparer.Ordinal);
        foreach (var (children, list) in unfinished)
        {
            await GraphEngine.CheckFingerprintsAsync(children.Recorder!, list.Select(c => c.Fingerprint), "resume", cancellationToken).ConfigureAwait(false);
            foreach (var child in await PlanAsync(children, list, cancellationToken).ConfigureAwait(false))
            {
                resumed[child.Checkpoint.RunId] = child;
            }
        }

        foreach (var wait in waiting)
        {
            var parent = runs[wait.Index];
            var states = new ResumedChild[wait.Items.Count];
            for (var i = 0; i < states.Length; i++)
            {
                var id = ChildId(parent.Checkpoint.RunId, wait.First + i);
                if (!latest.TryGetValue(id, out var child))
                {
                    continue;
                }

                states[i] = child.IsFinal
                    ? new ResumedChild(child, child.State == CheckpointState.Done ? wait.Children.Recorder!.ReadNode(child.NodeType, child.Node) : null, null)
                    : new ResumedChild(null, null, resumed[id]);
            }

            runs[wait.Index] = parent with { FanOut = new ResumedFanOut(wait.Children, wait.Policy, wait.Max, wait.First, wait.Items, states) };
        }

        return runs;
    }

    public static string ChildId(string parentId, int number) => string.Create(CultureInfo.InvariantCulture, $"{parentId}/{number}");

    private static (FanOutPolicy Policy, int Max, int First, IReadOnlyList<INode> Items) ReadChildren(RunCheckpoint checkpoint, CheckpointRecorder children)
    {
        if (checkpoint.Children is null)
        {
            throw new CheckpointException($"Run '{checkpoint.RunId}' waits for children, but its checkpoint does not say which; the store is damaged.");
        }

        using var document = JsonDocument.Parse(checkpoint.Children);
        var root = document.RootElement;
        var items = new List<INode>();
        foreach (var item in root.GetProperty("items").EnumerateArray())
        {
            items.Add(children.ReadNode(item.GetProperty("t").GetString()!, item.GetProperty("v").GetRawText()));
        }

        return (Enum.Parse<FanOutPolicy>(root.GetProperty("policy").GetString()!), root.GetProperty("max").GetInt32(), root.GetProperty("first").GetInt32(), items);
    }
}

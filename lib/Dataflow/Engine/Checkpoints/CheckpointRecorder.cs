using System.Collections.Concurrent;
using System.Text.Json;
using Dataflow.Checkpoints;
using Dataflow.Events;
using Dataflow.Graphs;

namespace Dataflow.Engine.Checkpoints;

/// <summary>
/// Makes and saves the checkpoints of one durable graph's runs on one engine: what a checkpoint holds (the next node
/// as JSON, the part of the trace a recall can reach, gates, iteration count, options, final state) and how it is
/// committed (<see cref="CheckpointCommitMode"/>). Shared by the graph's runs; thread-safe.
/// </summary>
internal sealed class CheckpointRecorder(ICheckpointStore store, CheckpointCommitMode mode, Graph graph, TimeProvider time)
{
    private readonly ConcurrentDictionary<Type, string> _traceEntryHeads = new();
    private int _graphSaved;
    private StoredOptions? _lastOptions;

    public ICheckpointStore Store => store;

    public Graph Graph => graph;

    public CheckpointCommitMode Mode => mode;

    /// <summary>Saves a checkpoint: returns once it is committed (group commit) or queued (write-behind).</summary>
    public ValueTask SaveAsync(RunCheckpoint checkpoint)
        => Volatile.Read(ref _graphSaved) == 0 && Interlocked.Exchange(ref _graphSaved, 1) == 0
            ? SaveWithGraphAsync(checkpoint)
            : store.SaveAsync(checkpoint, mode);

    /// <summary>A checkpoint of <paramref name="run"/> as it stands now.</summary>
    public RunCheckpoint Make(RunExecution run, DurableRun durable, CheckpointState state, INode node, int sequence, string? error = null)
    {
        var length = run.TraceLength;
        return new(run.Id, sequence, graph.Identity, graph.Fingerprint.Value, state, durable.StepOffset + length - 1, graph.NameOf(node.GetType()), NodeJson.Serialize(node), time.GetUtcNow())
        {
            Trace = length > 1 ? durable.RecallableTrace(run, this) : null,
            GateNumber = run.NextGateNumber,
            Iterations = run.Iterations,
            Options = durable.Options ??= OptionsJson(run),
            RerunOf = durable.RerunOf,
            Error = error,
            Parent = run.ParentId,
            ChildNumber = run.ChildrenStarted,
        };
    }

    /// <summary>
    /// How a trace entry of <paramref name="node"/> is stored, up to its value (<c>{"t":"Name","v":</c>); null when a
    /// recall cannot reach a node of its type (the start node, <paramref name="first"/>, is always kept).
    /// </summary>
    public string? TraceEntryHead(INode node, bool first)
    {
        var type = node.GetType();
        return first || graph.Recallable.Contains(type)
            ? _traceEntryHeads.GetOrAdd(type, static (t, g) => "{\"t\":" + JsonSerializer.Serialize(g.NameOf(t)) + ",\"v\":", graph)
            : null;
    }

    /// <summary>Reads a stored trace back: the nodes a recall can reach, oldest first.</summary>
    public IReadOnlyList<INode> ReadTrace(string? trace)
    {
        if (trace is null)
        {
            return [];
        }

        var nodes = new List<INode>();
        using var document = JsonDocument.Parse(trace);
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            nodes.Add(ReadNode(entry.GetProperty("t").GetString()!, entry.GetProperty("v").GetRawText()));
        }

        return nodes;
    }

    /// <summary>Restores a stored node of this graph.</summary>
    public INode ReadNode(string typeName, string json)
    {
        var type = graph.FindByName(typeName)?.Type
            ?? throw new GraphChangedException($"A checkpoint of graph '{graph.StartName}' holds a node of type '{typeName}', which the graph no longer has.");
        try
        {
            return NodeJson.Deserialize(json, type);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"A checkpointed '{typeName}' of graph '{graph.StartName}' cannot be restored from its JSON: {e.Message}", e);
        }
    }

    /// <summary>The settings a restored run gets from its stored options (deadline counted again from the resume).</summary>
    public static RunOptions ReadOptions(string? options)
    {
        var result = new RunOptions();
        if (options is null)
        {
            return result;
        }

        using var document = JsonDocument.Parse(options);
        var root = document.RootElement;
        if (root.TryGetProperty("policy", out var policy) && Enum.TryParse<OutputPolicy>(policy.GetString(), out var parsed))
        {
            result.Policy = parsed;
        }

        if (root.TryGetProperty("max_iterations", out var max))
        {
            result.MaxIterations = max.GetInt32();
        }

        if (root.TryGetProperty("deadline_ms", out var deadline))
        {
            result.Deadline = TimeSpan.FromMilliseconds(deadline.GetDouble());
        }

        return result;
    }

    private async ValueTask SaveWithGraphAsync(RunCheckpoint checkpoint)
    {
        // Queued before the graph's first checkpoint, so it is committed no later than that one.
        await store.SaveGraphAsync(graph.Identity, graph.Fingerprint.Value, graph.Fingerprint.Description).ConfigureAwait(false);
        await store.SaveAsync(checkpoint, mode).ConfigureAwait(false);
    }

    /// <summary>The stored form of a run's options: made once per distinct setting (most runs share one).</summary>
    private string OptionsJson(RunExecution run)
    {
        var last = Volatile.Read(ref _lastOptions);
        if (last is not null && last.Policy == run.Policy && last.MaxIterations == run.MaxIterations && last.Deadline == run.Deadline)
        {
            return last.Json;
        }

        var made = new StoredOptions(run.Policy, run.MaxIterations, run.Deadline, MakeOptionsJson(run));
        Volatile.Write(ref _lastOptions, made);
        return made.Json;
    }

    private static string MakeOptionsJson(RunExecution run)
    {
        var options = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["policy"] = run.Policy.ToString(),
            ["max_iterations"] = run.MaxIterations,
        };
        if (run.Deadline is { } deadline)
        {
            options["deadline_ms"] = deadline.TotalMilliseconds;
        }

        return JsonSerializer.Serialize(options);
    }

    private sealed record StoredOptions(OutputPolicy Policy, int MaxIterations, TimeSpan? Deadline, string Json);
}

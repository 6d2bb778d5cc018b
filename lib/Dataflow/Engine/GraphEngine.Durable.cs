using Dataflow.Checkpoints;
using Dataflow.Engine.Checkpoints;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>Durable runs: the networks of durable graphs record checkpoints; resume and rerun bring runs back from them.</summary>
public sealed partial class GraphEngine
{
    /// <summary>
    /// Brings back every unfinished run of <paramref name="graph"/> from the engine's checkpoint store
    /// (<see cref="GraphEngineOptions.Checkpoints"/>), after a crash or a shutdown: each run continues, with its id,
    /// from its last checkpoint in this engine's network of the graph. A run that waited at gates waits again at the
    /// same gate ids; a node whose gates were resolved does not ask again. Finished runs are not touched, and runs this
    /// engine already has are skipped. Waits for admission like <see cref="SubmitAsync"/>.
    /// </summary>
    /// <remarks>
    /// After a crash the node each run was executing (or about to execute) runs again: at least once per node, and,
    /// with group commit, no node a run had moved past. A run's deadline counts again from the resume; its start time
    /// is the resume's. Resume a graph's runs from one process at a time.
    /// </remarks>
    /// <param name="graph">The durable graph, the same as the runs were checkpointed with.</param>
    /// <param name="cancellationToken">Stops waiting for admission; runs resumed so far go on.</param>
    /// <returns>The resumed runs and how many of the graph's runs had finished.</returns>
    /// <exception cref="ArgumentException">The graph is not durable.</exception>
    /// <exception cref="InvalidOperationException">The engine has no checkpoint store.</exception>
    /// <exception cref="GraphChangedException">The runs were checkpointed with a graph whose node types differ; nothing is resumed.</exception>
    /// <exception cref="CheckpointException">A stored node cannot be restored; nothing is resumed.</exception>
    /// <exception cref="CheckpointsUnavailableException">The store has no checkpoint tables.</exception>
    public async Task<ResumeResult> ResumeAsync(Graph graph, CancellationToken cancellationToken = default)
    {
        var (network, recorder) = DurableNetwork(graph);
        var stored = await recorder.Store.LoadResumableAsync(graph.Identity, cancellationToken).ConfigureAwait(false);
        return await ResumeStoredAsync(network, recorder, stored, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Resumes the unfinished runs of <paramref name="stored"/> in <paramref name="network"/>: all of them, or none when one cannot be restored.</summary>
    private async Task<ResumeResult> ResumeStoredAsync(GraphNetwork network, CheckpointRecorder recorder, ResumableRuns stored, CancellationToken cancellationToken)
    {
        await CheckFingerprintsAsync(recorder, stored.Unfinished.Select(c => c.Fingerprint), "resume", cancellationToken).ConfigureAwait(false);

        // Every node is restored before any run starts (and every waiting parent's children read): a checkpoint that
        // cannot be read resumes nothing. Children are resumed by their parents, not on their own.
        var skipped = 0;
        var own = new List<RunCheckpoint>(stored.Unfinished.Count);
        foreach (var checkpoint in stored.Unfinished)
        {
            if (checkpoint.Parent is not null)
            {
                continue;
            }

            if (_lifecycle.Registry.Find(checkpoint.RunId) is not null)
            {
                skipped++;
                continue;
            }

            own.Add(checkpoint);
        }

        var planner = new ResumePlanner(recorder.Store, g => _lifecycle.NetworkFor(g));
        var restored = await planner.PlanAsync(network, own, cancellationToken).ConfigureAwait(false);
        var runs = new List<GraphRun>(restored.Count);
        var options = new Dictionary<string, RunOptions>(StringComparer.Ordinal);
        foreach (var resumed in restored)
        {
            // Runs mostly share their options: each distinct stored form is read once.
            var read = resumed.Checkpoint.Options is { } json
                ? options.TryGetValue(json, out var known) ? known : options[json] = CheckpointRecorder.ReadOptions(json)
                : CheckpointRecorder.ReadOptions(null);
            var settings = RunOptions.Settle(read, _options);
            var lease = await AdmitAsync(network, cancellationToken).ConfigureAwait(false);
            runs.Add(Restore(resumed, settings, lease));
        }

        return new ResumeResult(runs, stored.Finished, skipped);
    }

    /// <summary>
    /// Starts a new run that reruns a failed or cancelled durable run from the node where it ended (or from an earlier
    /// node of its trace), linked to it: the nodes before that one are not executed again; their recallable part of the
    /// trace and the iteration count are restored from the checkpoint.
    /// </summary>
    /// <param name="graph">The durable graph the run was checkpointed with.</param>
    /// <param name="runId">The run to rerun.</param>
    /// <param name="fromStep">The position in the old run's trace to start from (0 is its start node); null for the node where it ended.</param>
    /// <param name="options">The new run's options; null takes the old run's.</param>
    /// <param name="cancellationToken">Stops waiting for admission.</param>
    /// <returns>The new run.</returns>
    /// <exception cref="UnknownRunException">The store has no checkpoint of <paramref name="runId"/>.</exception>
    /// <exception cref="CheckpointException">The run did not fail and was not cancelled, or its node cannot be restored.</exception>
    /// <exception cref="GraphChangedException">The run was checkpointed with a graph whose node types differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No checkpoint holds <paramref name="fromStep"/>; the message lists those that do.</exception>
    public async Task<GraphRun> RerunAsync(Graph graph, string runId, int? fromStep = null, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runId);
        var (network, recorder) = DurableNetwork(graph);
        var checkpoints = await recorder.Store.LoadRunAsync(runId, cancellationToken).ConfigureAwait(false);
        if (checkpoints.Count == 0)
        {
            throw new UnknownRunException($"Run '{runId}' is not in the checkpoint store: only the runs of durable graphs (GraphOptions.Durable) are, in the store they ran with.") { RunId = runId };
        }

        var last = checkpoints[^1];
        if (last.Graph != graph.Identity)
        {
            throw new ArgumentException($"Run '{runId}' is a run of graph '{last.Graph}', not of '{graph.Identity}'.", nameof(graph));
        }

        if (last.Parent is { } parent)
        {
            throw new CheckpointException($"Run '{runId}' is a child run of run '{parent}' (a fan-out or subgraph): a child is not rerun on its own, since its parent's join has its result already; rerun run '{parent}' from its fan-out node, which runs all its children again.");
        }

        if (last.State is not (CheckpointState.Failed or CheckpointState.Cancelled))
        {
            throw new CheckpointException(last.IsFinal
                ? $"Run '{runId}' ended {last.State}; only a failed or cancelled run can be rerun."
                : $"Run '{runId}' has not finished (it is {last.State} at '{last.NodeType}'); resume it with ResumeAsync instead of rerunning it.");
        }

        await CheckFingerprintsAsync(recorder, [last.Fingerprint], "rerun", cancellationToken).ConfigureAwait(false);
        var step = fromStep ?? last.Step;

        // The copy of the node handed on to that step (before it ran) when there is one; else the one it ended at.
        var from = checkpoints.Where(c => c.Step == step && c.State != CheckpointState.AwaitingChildren).OrderBy(c => c.IsFinal).ThenBy(c => c.Sequence).FirstOrDefault()
            ?? throw new ArgumentOutOfRangeException(nameof(fromStep), fromStep, $"Run '{runId}' has no checkpoint at step {step}; it has steps {string.Join(", ", checkpoints.Select(c => c.Step).Distinct())}.");
        var node = recorder.ReadNode(from.NodeType, from.Node);
        var trace = recorder.ReadTrace(from.Trace);
        var settings = RunOptions.Settle(options ?? CheckpointRecorder.ReadOptions(from.Options), _options);
        var lease = await AdmitAsync(network, cancellationToken).ConfigureAwait(false);
        var durable = DurableRun.Rerun(recorder, runId, from, trace.Count);
        var checkpoint = @from with
        {
            RunId = _lifecycle.Registry.Format(_lifecycle.Registry.NextNumber()),
            Iterations = from.IsFinal ? from.Step : from.Iterations,
            Parent = null,
            ChildNumber = 0,
        };
        return Restore(new ResumedRun(checkpoint, network, node, trace, null), settings, lease, durable);
    }

    /// <summary>
    /// Posts a new durable run to its first block once its start checkpoint is saved (committed, with group commit), so
    /// that no node runs before the store knows the run. The wait is outside the network: no node slot is held.
    /// </summary>
    private void DispatchWhenStarted(NetworkStep step, RunExecution run, DurableRun durable)
    {
        var saving = durable.StartedAsync(run);
        if (saving.IsCompletedSuccessfully && step.Post(run))
        {
            return;
        }

        durable.PendingSave = saving;
        durable.HandOnWhenSaved(run, step, start: true, _lifecycle);
    }

    /// <summary>The network of <paramref name="graph"/>, made on first use; with a recorder when the graph is durable. Under <c>_networksGate</c>.</summary>
    private GraphNetwork NetworkFor(Graph graph)
        => _networks.GetOrAdd(graph, g =>
        {
            CheckpointRecorder? recorder = null;
            if (g.Options.Durable)
            {
                var store = _options.Checkpoints
                    ?? throw new InvalidOperationException($"The graph that starts at '{g.StartName}' is durable (GraphOptions.Durable), but the engine has no checkpoint store: set GraphEngineOptions.Checkpoints.");
                recorder = new CheckpointRecorder(store, _options.CheckpointCommit, g, _options.TimeProvider);
            }

            return new GraphNetwork(_lifecycle, g) { Recorder = recorder };
        });

    private (GraphNetwork Network, CheckpointRecorder Recorder) DurableNetwork(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!graph.Options.Durable)
        {
            throw new ArgumentException($"The graph that starts at '{graph.StartName}' is not durable: create it with GraphOptions.Durable = true.", nameof(graph));
        }

        GraphNetwork network;
        lock (_networksGate)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            network = NetworkFor(graph);
        }

        return (network, network.Recorder!);
    }

    /// <summary>An admission slot for a resumed or rerun run: at once if one is free, else as a submit waits for one.</summary>
    private ValueTask<AdmissionLease> AdmitAsync(GraphNetwork network, CancellationToken cancellationToken)
        => network.TryEnter(out var lease) ? new(lease) : WaitForRoomAsync(network, cancellationToken);

    internal static async Task CheckFingerprintsAsync(CheckpointRecorder recorder, IEnumerable<string> fingerprints, string doing, CancellationToken cancellationToken)
    {
        var current = recorder.Graph.Fingerprint;
        foreach (var fingerprint in fingerprints.Distinct(StringComparer.Ordinal).Where(f => f != current.Value).Take(1))
        {
            var description = await recorder.Store.GraphDescriptionAsync(fingerprint, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<string> changes = description is null ? [$"the graph of fingerprint {fingerprint} was not recorded"] : current.Differences(description);
            throw new GraphChangedException(
                $"Cannot {doing} the runs of graph '{recorder.Graph.StartName}': they were checkpointed with a different graph (fingerprint {fingerprint}, now {current.Value}): " +
                string.Join("; ", changes) + ". Use the graph they were checkpointed with, or start them afresh.")
            {
                Changes = changes,
            };
        }
    }

    /// <summary>
    /// Makes a run from a checkpoint and sends it on: posted to the block of its node's type, or parked again for its
    /// children; the lease is its admission. <paramref name="rerun"/> is the checkpoint state of a rerun (a new run).
    /// </summary>
    private GraphRun Restore(ResumedRun resumed, RunSettings settings, AdmissionLease lease, DurableRun? rerun = null)
    {
        RunExecution run;
        try
        {
            run = RestoredRuns.Create(_lifecycle, resumed, settings, lease);
        }
        catch
        {
            lease.Return();
            throw;
        }

        if (rerun is not null)
        {
            run.Durable = rerun;
        }

        RunInstrumentation.RunStarted(run);
        _lifecycle.Registry.Add(run);
        var durable = run.Durable!;
        var step = resumed.Network.StepFor(resumed.Node.GetType());
        if (!durable.Started && step?.Block is not null)
        {
            DispatchWhenStarted(step, run, durable);
        }
        else if (!RestoredRuns.Dispatch(_lifecycle, run, resumed))
        {
            run.ReleaseAdmission();
            _lifecycle.Registry.Remove(run);
            throw new ObjectDisposedException(nameof(GraphEngine));
        }

        run.StartDeadline();
        if (Volatile.Read(ref _disposed) != 0 && _options.CancelRunsOnDispose)
        {
            _lifecycle.Cancel(run);
        }

        return run.View;
    }
}

/// <summary>What <see cref="GraphEngine.ResumeAsync(Graph, CancellationToken)"/> (or its overload for chosen runs) brought back.</summary>
public sealed class ResumeResult
{
    internal ResumeResult(IReadOnlyList<GraphRun> resumed, long finishedEarlier, int alreadyActive)
    {
        Resumed = resumed;
        FinishedEarlier = finishedEarlier;
        AlreadyActive = alreadyActive;
    }

    /// <summary>The runs resumed, each going on from its last checkpoint.</summary>
    public IReadOnlyList<GraphRun> Resumed { get; }

    /// <summary>How many runs of the graph had reached a final state before (not touched).</summary>
    public long FinishedEarlier { get; }

    /// <summary>Unfinished runs skipped because this engine runs them already.</summary>
    public int AlreadyActive { get; }
}

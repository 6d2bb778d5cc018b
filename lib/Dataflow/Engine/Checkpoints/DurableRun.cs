using System.Text.Json;
using Dataflow.Checkpoints;
using Dataflow.Graphs;

namespace Dataflow.Engine.Checkpoints;

/// <summary>
/// What one durable run records, and when: only its owner calls it, at each transition, so its fields need no lock.
/// </summary>
/// <remarks>
/// <para>The checkpoints of a run, in order (each one numbered, from 0):</para>
/// <list type="bullet">
/// <item>before its first node runs: the start node (<see cref="StartedAsync"/>);</item>
/// <item>after a node returned its successor, its effects ran and the transition was published, before the run is
/// handed on: the next node (<see cref="MovedAsync"/>); a move to a terminal node is recorded by the final checkpoint;</item>
/// <item>when it parks at gates: the gate ids (<see cref="ParkedAsync"/>); when they are resolved, before it goes back
/// in: the node with the gate values (<see cref="GatesResolvedAsync"/>);</item>
/// <item>when it ends: its final state (<see cref="SaveFinal"/>), except a run cancelled because the engine shuts
/// down, which stays resumable from its last checkpoint.</item>
/// </list>
/// <para>With <see cref="CheckpointCommitMode.GroupCommit"/> each of these awaits the commit, so after a crash a run
/// resumes at the node it was about to execute or executing: at least once per node, and no node it had moved past
/// runs again. A retry's backoff records nothing: resumed, the node starts again at its first attempt.</para>
/// </remarks>
internal sealed class DurableRun(CheckpointRecorder recorder)
{
    private int _sequence;
    private bool _gatesResolved;
    private int _traceStored;
    private string? _traceBody;
    private string? _traceJson;
    private Action? _whenSaved;
    private RunExecution? _waiting;
    private NetworkStep? _next;
    private IRunHost? _host;
    private bool _waitingStart;
    private bool _waitingFinish;

    /// <summary>Whether the start checkpoint is recorded (a resumed run's is).</summary>
    public bool Started { get; private set; }

    /// <summary>The run this one reruns, if it is a rerun.</summary>
    public string? RerunOf { get; private set; }

    /// <summary>The trace position of the restored trace's first entry: a restored run keeps only the part a recall can reach.</summary>
    public int StepOffset { get; private set; }

    /// <summary>The run's options as stored, made once.</summary>
    public string? Options { get; set; }

    /// <summary>A run resumed from <paramref name="checkpoint"/>, whose trace holds <paramref name="restored"/> earlier nodes.</summary>
    public static DurableRun Resumed(CheckpointRecorder recorder, RunCheckpoint checkpoint, int restored)
        => new(recorder)
        {
            _sequence = checkpoint.Sequence + 1,
            _gatesResolved = checkpoint.GatesResolved,
            Started = true,
            RerunOf = checkpoint.RerunOf,
            StepOffset = checkpoint.Step - restored,
            Options = checkpoint.Options,
        };

    /// <summary>A new run that reruns <paramref name="runId"/> from <paramref name="checkpoint"/>'s node.</summary>
    public static DurableRun Rerun(CheckpointRecorder recorder, string runId, RunCheckpoint checkpoint, int restored)
        => new(recorder) { RerunOf = runId, StepOffset = checkpoint.Step - restored };

    /// <summary>Whether a resumed run's node had its gates resolved before the crash: it does not wait again. Asked once.</summary>
    public bool TakeGatesResolved()
    {
        var resolved = _gatesResolved;
        _gatesResolved = false;
        return resolved;
    }

    public ValueTask StartedAsync(RunExecution run)
    {
        Started = true;
        return SaveAsync(run, CheckpointState.Running, run.CurrentNode);
    }

    /// <summary>
    /// The save the run waits for outside its block (<see cref="HandOnWhenSaved"/>): the one <see cref="MovedAsync"/>
    /// started or the start checkpoint's; or, for <see cref="TrackFinish"/>, the run's end. Read once, then reset.
    /// </summary>
    public ValueTask PendingSave { get; set; }

    public ValueTask MovedAsync(RunExecution run) => PendingSave = SaveAsync(run, CheckpointState.Running, run.CurrentNode);

    /// <summary>
    /// Hands <paramref name="run"/> on to <paramref name="next"/> once <see cref="PendingSave"/> completes, through
    /// <see cref="IRunHost.Saved"/> on the thread that completes it: no task of its own and one delegate per run, made at
    /// its first wait, so a commit wait costs the store's signal and nothing more. The waiter owns the run meanwhile,
    /// and the wait counts as the engine's background work until it has handed the run on.
    /// </summary>
    /// <param name="run">The run, owned by the caller until this hands it over.</param>
    /// <param name="next">The step the run goes to once its checkpoint is saved.</param>
    /// <param name="start">Whether the save is the start checkpoint (the run has not started).</param>
    /// <param name="host">The engine side that goes on with the run (<see cref="IRunHost.Saved"/>).</param>
    public void HandOnWhenSaved(RunExecution run, NetworkStep next, bool start, IRunHost host)
    {
        _waiting = run;
        _next = next;
        _waitingStart = start;
        _waitingFinish = false;
        _host = host;
        host.Background.Begin();
        PendingSave.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_whenSaved ??= Saved);
    }

    /// <summary>
    /// Counts the end of a run that waits for its final checkpoint outside the block (<paramref name="finishing"/>, its
    /// <see cref="IRunHost.FinishAsync"/>) as the engine's background work, with the same delegate as
    /// <see cref="HandOnWhenSaved"/>; a failure of it is kept for the engine's shutdown to rethrow.
    /// </summary>
    public void TrackFinish(ValueTask finishing, IRunHost host)
    {
        PendingSave = finishing;
        _waitingFinish = true;
        _host = host;
        host.Background.Begin();
        finishing.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_whenSaved ??= Saved);
    }

    public ValueTask ParkedAsync(RunExecution run, IReadOnlyList<PendingGate> gates)
    {
        var checkpoint = recorder.Make(run, this, CheckpointState.Waiting, run.CurrentNode, _sequence++) with
        {
            Gates = JsonSerializer.Serialize(gates.Select(g => g.Id)),
            GateNumber = run.NextGateNumber - gates.Count,
        };
        return recorder.SaveAsync(checkpoint);
    }

    /// <summary>The run waits for the children of the fan-out its node returned: <paramref name="children"/> says what it needs to go on.</summary>
    public ValueTask AwaitingChildrenAsync(RunExecution run, string children)
        => recorder.SaveAsync(recorder.Make(run, this, CheckpointState.AwaitingChildren, run.CurrentNode, _sequence++) with { Children = children });

    public ValueTask GatesResolvedAsync(RunExecution run)
        => recorder.SaveAsync(recorder.Make(run, this, CheckpointState.Running, run.CurrentNode, _sequence++) with { GatesResolved = true });

    /// <summary>
    /// Records the final state: the save to await, or a completed one when nothing is recorded (a run cancelled by the
    /// engine's shutdown stays resumable). Never throws: a checkpoint that cannot be made is a faulted save.
    /// </summary>
    public ValueTask SaveFinal(RunExecution run, RunState state, INode? result, Exception? error, bool shuttingDown)
    {
        if (state == RunState.Cancelled && shuttingDown && run.StopReason == StopReason.Cancelled)
        {
            // Cancelled by the engine's shutdown, not by anyone's choice: the run stays resumable.
            return default;
        }

        try
        {
            var final = state switch
            {
                RunState.Done => CheckpointState.Done,
                RunState.Failed => CheckpointState.Failed,
                _ => CheckpointState.Cancelled,
            };
            return recorder.SaveAsync(recorder.Make(run, this, final, result ?? run.CurrentNode, _sequence++, error is null ? null : $"{error.GetType().Name}: {error.Message}"));
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <summary>
    /// The stored trace: the run's start node and the earlier nodes a <c>[Recall]</c> input can reach, as a JSON array
    /// of <c>{"t": type name, "v": node}</c>, oldest first. The entries of nodes already passed are made once and kept.
    /// </summary>
    public string RecallableTrace(RunExecution run, CheckpointRecorder recorder)
    {
        var trace = run.Trace;
        var passed = trace.Count - 1;
        if (passed > _traceStored)
        {
            // Mostly one entry is added (or none: only the start node and recallable types are kept), so the body is
            // concatenated rather than built.
            var body = _traceBody;
            for (var i = _traceStored; i < passed; i++)
            {
                if (recorder.TraceEntryHead(trace[i], first: i == 0) is { } head)
                {
                    var json = NodeJson.Serialize(trace[i]);
                    body = string.IsNullOrEmpty(body) ? $"{head}{json}}}" : $"{body},{head}{json}}}";
                }
            }

            if (!ReferenceEquals(body, _traceBody))
            {
                _traceBody = body;
                _traceJson = null;
            }

            _traceStored = passed;
        }

        return _traceJson ??= "[" + _traceBody + "]";
    }

    private ValueTask SaveAsync(RunExecution run, CheckpointState state, INode node) => recorder.SaveAsync(recorder.Make(run, this, state, node, _sequence++));

    private void Saved()
    {
        if (_waitingFinish)
        {
            Finished();
            return;
        }

        var (run, next, start, host) = (_waiting!, _next!, _waitingStart, _host!);
        (_waiting, _next, _host) = (null, null, null);
        Exception? failure = null;
        try
        {
            // The save has completed: this is its completion callback, so reading its outcome does not wait.
#pragma warning disable VSTHRD002
            PendingSave.GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
        }
        catch (Exception e)
        {
            failure = e;
        }

        PendingSave = default;
        host.Saved(run, next, start, failure);
    }

    private void Finished()
    {
        var host = _host!;
        _host = null;
        try
        {
#pragma warning disable VSTHRD002 // Not a wait: this is the task's completion callback.
            PendingSave.GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
        }
        catch (Exception e)
        {
            // A bug in ending the run: kept for the engine's shutdown to rethrow, as nobody awaits it.
            host.Background.Failed(e);
        }
        finally
        {
            PendingSave = default;
            host.Background.End();
        }
    }
}

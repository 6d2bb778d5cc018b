using Dataflow.Graphs;

namespace Dataflow.Engine.Checkpoints;

/// <summary>
/// Makes a run from a <see cref="ResumedRun"/> and sends it on: into its network at its node, to its end when that node
/// is terminal, or, when it waited for children, parked again for them. Used for resumed runs and resumed children alike.
/// </summary>
internal static class RestoredRuns
{
    /// <summary>The run, with its id, node, trace, counters and checkpoint state restored; not yet dispatched.</summary>
    public static RunExecution Create(RunLifecycle lifecycle, ResumedRun resumed, RunSettings settings, AdmissionLease lease)
    {
        var checkpoint = resumed.Checkpoint;
        var network = resumed.Network;
        var run = new RunExecution(checkpoint.RunId, resumed.Node, settings, lease);
        run.RestoreTrace(resumed.Trace);
        run.Iterations = checkpoint.Iterations;
        run.NextGateNumber = checkpoint.GateNumber;
        if (checkpoint.ChildNumber > 0)
        {
            run.ChildrenStarted = checkpoint.ChildNumber;
        }

        run.Durable = DurableRun.Resumed(network.Recorder!, checkpoint, resumed.Trace.Count);
        return run;
    }

    /// <summary>
    /// Sends a restored, registered run on. False only when its network no longer takes runs (the engine shuts down):
    /// the caller then ends it.
    /// </summary>
    public static bool Dispatch(RunLifecycle lifecycle, RunExecution run, ResumedRun resumed)
    {
        var step = resumed.Network.StepFor(resumed.Node.GetType());
        if (resumed.FanOut is { } fanOut && step is not null)
        {
            // It waited for children: it waits again, outside the network, holding no slot.
            run.TryBeginStep();
            run.ParkForChildren();
            lifecycle.FanOuts.Resume(run, step, resumed.Node, fanOut);
            return true;
        }

        if (step?.Block is null)
        {
            // Checkpointed at a terminal node: it is done.
            run.TryTakeIdle();
            lifecycle.Background.Track(lifecycle.EndTakenAsync(run, RunState.Done, resumed.Node, null).AsTask());
            return true;
        }

        return step.Post(run);
    }
}

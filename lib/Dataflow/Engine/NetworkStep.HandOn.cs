using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// What a step does with its run once the node is done (see <c>NetworkStep.cs</c>): ends it, runs the next step inline
/// in a free slot, or posts it to the next step; and what a step's visit can come to (<see cref="Outcome"/>).
/// </summary>
internal sealed partial class NetworkStep
{
    /// <summary>
    /// Hands a durable run on once its transition's checkpoint is committed, waiting outside the block so that the node
    /// slot serves other runs meanwhile (their checkpoints then join the same group commit). The waiter owns the run.
    /// </summary>
    private Outcome HandOnWhenCommitted(Checkpoints.DurableRun durable, RunExecution run, NetworkStep nextStep)
    {
        durable.HandOnWhenSaved(run, nextStep, start: false, _host);
        return Outcome.HandedOn;
    }

    /// <summary>Moves the run on to <paramref name="next"/>, a node of <paramref name="nextStep"/>: ends it there, runs it inline, or posts it.</summary>
    private Outcome HandOn(RunExecution run, NetworkStep nextStep, INode next)
    {
        if (nextStep.Block is null)
        {
            return Outcome.End(RunState.Done, next, null);
        }

        if (Queue is not null && nextStep.Queue is { } queue && queue.TryEnterInline())
        {
            // The next step has a free slot and nobody waits for it: run the next node here, holding that slot.
            return Outcome.Inline(nextStep);
        }

        run.HandOff();
        if (nextStep.Post(run))
        {
            return Outcome.HandedOn;
        }

        // The engine stopped taking work (only its shutdown completes blocks, after runs have left), or a canceller
        // took the run the moment it was Idle.
        return run.TryTakeIdle() ? Outcome.Stop(_host.Stopped(run)) : Outcome.HandedOn;
    }

    private enum OutcomeKind
    {
        /// <summary>The run is in another block's buffer, waits at a gate, or was taken by a canceller: nothing more to do here.</summary>
        HandedOn,

        /// <summary>The run ends here: the step takes it for good and finishes it.</summary>
        End,

        /// <summary>The next step runs inline, in a slot already taken: execute it now, still owning the run.</summary>
        Inline,
    }

    /// <summary>What a step did with its run.</summary>
    private readonly record struct Outcome(OutcomeKind Kind, RunState State, INode? Result, Exception? Error, NetworkStep? Next = null)
    {
        public static Outcome HandedOn => new(OutcomeKind.HandedOn, default, null, null);

        public static Outcome End(RunState state, INode? result, Exception? error) => new(OutcomeKind.End, state, result, error);

        public static Outcome Stop(RunStop stop) => new(OutcomeKind.End, stop.State, null, stop.Error);

        public static Outcome Inline(NetworkStep next) => new(OutcomeKind.Inline, default, null, null, next);
    }
}

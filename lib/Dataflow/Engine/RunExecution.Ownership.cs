using System.Diagnostics;

namespace Dataflow.Engine;

/// <summary>Who may act on a run at a moment. Exactly one owner at a time; see <see cref="RunExecution"/>.</summary>
internal enum RunOwner
{
    /// <summary>In a block's buffer, or about to be posted to one. Nobody executes it.</summary>
    Idle,

    /// <summary>A block's action (or an inline step after it) executes its current node.</summary>
    Executing,

    /// <summary>Outside the network, parked by its last executor: at a gate, waiting for values.</summary>
    Waiting,

    /// <summary>Outside the network, parked by its last executor: in a backoff, waiting for its next attempt.</summary>
    BackingOff,

    /// <summary>Outside the network, parked by its last executor: waiting for the child runs of its fan-out or subgraph.</summary>
    AwaitingChildren,

    /// <summary>Taken for good by whoever ends it. It never moves again.</summary>
    Finishing,
}

// The run's owner moves (see the class remarks in RunExecution.cs): each move is one compare-and-swap from the owner
// that lets go to the one that takes over; a move from the wrong owner is a bug and throws.
internal sealed partial class RunExecution
{
    /// <summary>Idle → Executing: a block dequeued the run. False when a finisher took it while it was buffered.</summary>
    public bool TryBeginStep() => Interlocked.CompareExchange(ref _owner, (int)RunOwner.Executing, (int)RunOwner.Idle) == (int)RunOwner.Idle;

    /// <summary>Executing → Idle: the executor lets go of the run just before posting it to the next block.</summary>
    public void HandOff() => Move(RunOwner.Executing, RunOwner.Idle);

    /// <summary>
    /// Executing → Waiting: the run leaves the network to wait at <paramref name="gates"/>, giving back its admission
    /// slot; from now on the gate waiter owns it.
    /// </summary>
    public void Park(IReadOnlyList<PendingGate> gates)
    {
        Move(RunOwner.Executing, RunOwner.Waiting);
        ReleaseAdmission();
        Interlocked.CompareExchange(ref _state, (int)RunState.Waiting, (int)RunState.Running);
        SetGates(Extras, gates)?.TrySetResult(gates);
    }

    /// <summary>Waiting → Idle: the gates are resolved and the run has a new admission slot; it is about to be posted back.</summary>
    public void Unpark(AdmissionLease lease)
    {
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            Extras.Gates = null;
        }
        finally
        {
            Exit(taken);
        }

        Interlocked.CompareExchange(ref _state, (int)RunState.Running, (int)RunState.Waiting);
        Admitted(lease);
        Move(RunOwner.Waiting, RunOwner.Idle);
    }

    /// <summary>
    /// Executing → BackingOff: after a failed attempt the run leaves the network until its next one, giving back its
    /// admission slot; from now on the backoff waiter owns it. Its state turns Waiting; no gate signal is raised.
    /// </summary>
    public void ParkForBackoff() => LeaveNetwork(RunOwner.BackingOff);

    /// <summary>BackingOff → Idle: the backoff is over and the run has a new admission slot; it is about to be posted back.</summary>
    public void ResumeFromBackoff(AdmissionLease lease) => ReturnToNetwork(RunOwner.BackingOff, lease);

    /// <summary>
    /// Executing → AwaitingChildren: the run leaves the network while its children run, giving back its admission slot;
    /// from now on its fan-out (<see cref="FanOutWait"/>) owns it. Its state turns Waiting; no gate signal is raised.
    /// </summary>
    public void ParkForChildren() => LeaveNetwork(RunOwner.AwaitingChildren);

    /// <summary>AwaitingChildren → Idle: the join is the current node and the run has a new admission slot; it is about to be posted.</summary>
    public void ResumeFromChildren(AdmissionLease lease) => ReturnToNetwork(RunOwner.AwaitingChildren, lease);

    /// <summary>Idle → Finishing: a canceller takes a buffered run for good. False when an executor has it.</summary>
    public bool TryTakeIdle() => Interlocked.CompareExchange(ref _owner, (int)RunOwner.Finishing, (int)RunOwner.Idle) == (int)RunOwner.Idle;

    /// <summary>Executing, Waiting or BackingOff → Finishing: the current owner is about to end the run.</summary>
    public void TakeForFinish()
    {
        var owner = Volatile.Read(ref _owner);
        if (owner is not ((int)RunOwner.Executing or (int)RunOwner.Waiting or (int)RunOwner.BackingOff or (int)RunOwner.AwaitingChildren)
            || Interlocked.CompareExchange(ref _owner, (int)RunOwner.Finishing, owner) != owner)
        {
            throw new InvalidOperationException($"Run {Id}: only its executor, gate waiter, backoff waiter or fan-out can end it, but its owner is {(RunOwner)owner}.");
        }
    }

    /// <summary>Gives back the run's admission slot, if it still holds one. Safe to call more than once.</summary>
    public void ReleaseAdmission()
    {
        if ((Interlocked.And(ref _flags, ~AdmittedFlag) & AdmittedFlag) != 0)
        {
            _network.Leave();
        }
    }

    /// <summary>Executing → <paramref name="waiter"/>: the run leaves the network, giving back its admission slot, and is Waiting.</summary>
    private void LeaveNetwork(RunOwner waiter)
    {
        Move(RunOwner.Executing, waiter);
        ReleaseAdmission();
        Interlocked.CompareExchange(ref _state, (int)RunState.Waiting, (int)RunState.Running);
    }

    /// <summary><paramref name="waiter"/> → Idle: the run is Running again with a new slot, about to be posted back.</summary>
    private void ReturnToNetwork(RunOwner waiter, AdmissionLease lease)
    {
        Interlocked.CompareExchange(ref _state, (int)RunState.Running, (int)RunState.Waiting);
        Admitted(lease);
        Move(waiter, RunOwner.Idle);
    }

    /// <summary>The run holds a slot again: a lease of its own network (a run never moves to another).</summary>
    private void Admitted(AdmissionLease lease)
    {
        Debug.Assert(ReferenceEquals(lease.Network, _network), "A run is admitted to its own graph's network only.");
        Interlocked.Or(ref _flags, AdmittedFlag);
    }

    private void Move(RunOwner from, RunOwner to)
    {
        var actual = Interlocked.CompareExchange(ref _owner, (int)to, (int)from);
        if (actual != (int)from)
        {
            throw new InvalidOperationException($"Run {Id}: its owner cannot move from {from} to {to}, because it is {(RunOwner)actual}.");
        }
    }
}

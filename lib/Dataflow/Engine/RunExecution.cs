using System.Diagnostics;
using Dataflow.Events;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// The mutable state of one run, behind the read-only <see cref="GraphRun"/> that users see. This file holds the
/// ownership scheme; <c>RunExecution.Ownership.cs</c> every transition between owners; <c>RunExecution.Record.cs</c>
/// what the run keeps (trace, timings, dependencies).
/// </summary>
/// <remarks>
/// <para><b>Ownership scheme.</b> A run has exactly one owner at a time (<see cref="RunOwner"/>), held in one int and
/// moved only by compare-and-swap in the methods below; a move from any other state than the one expected is a bug
/// and throws. The transitions:</para>
/// <code>
///   Idle ──TryBeginStep──► Executing ──HandOff──► Idle          (posted to the next block)
///                          Executing ──Park─────► Waiting ──Unpark──► Idle   (gate resolved, posted back)
///                          Executing ──ParkForBackoff──► BackingOff ──ResumeFromBackoff──► Idle
///                                                                    (backoff over, posted back to the same step)
///                          Executing ──ParkForChildren──► AwaitingChildren ──ResumeFromChildren──► Idle
///                                                                    (children ended, posted to the join's step)
///   Idle ──TryTakeIdle───► Finishing                            (cancelled or past its deadline while buffered)
///   Executing / Waiting / BackingOff / AwaitingChildren ──TakeForFinish──► Finishing   (the owner ends the run)
/// </code>
/// <para>The backoff waiter (<see cref="Resilience.BackoffWaiter"/>) owns a run between a failed attempt and its next
/// one, as the gate waiter (<see cref="GateCoordinator"/>) owns a run at a gate: the run has given back its admission
/// slot, holds no node slot and no thread, and is <see cref="RunState.Waiting"/>. Unlike a gate park, a backoff park
/// does not signal <see cref="GraphRun.WaitForGatesAsync"/>: the run waits at no gate.</para>
/// <para>Only <c>TryBeginStep</c> and <c>TryTakeIdle</c> race (a block dequeuing against a canceller); both start from
/// Idle and exactly one wins. Everything else is done by the current owner, so it cannot race.</para>
/// <para><b>What each owner may touch.</b> The owner alone reads and writes the execution fields: the current node
/// (<see cref="Advance"/>, <see cref="RetryCurrent"/>), <see cref="Iterations"/>, <see cref="Attempt"/>,
/// <see cref="PreparedNode"/>, <see cref="StartEmitted"/>, <see cref="NextGateNumber"/>, the node context (and the
/// per-attempt token it carries) and the admission lease, and only the owner publishes the run's
/// events, which is what keeps them in per-run order. Anyone may call <see cref="RequestCancel"/> or
/// <see cref="RequestStop"/> (they only record why and cancel the token; see <c>RunExecution.Stop.cs</c>) and read the
/// public view. Whoever ends a run whose token fired asks <see cref="IRunHost.Stopped"/> which final state and error
/// it gets: Cancelled, or Failed with <see cref="Resilience.RunDeadlineExceededException"/>.</para>
/// <para><b>Locks.</b> One lock, <c>_lock</c> (a <see cref="SpinLock"/> field: no object of its own), guards what
/// the public view reads from any thread: the trace, timings, dependency cache, the final result or exception and end
/// time, the gates the run waits at and the signal that <see cref="GraphRun.WaitForGatesAsync"/> awaits. The final
/// state is written under it and published with a volatile write. Nothing awaits, blocks or calls out under it (a
/// signal is completed after the lock is left), which is what makes a spin lock the right one.</para>
/// <para><b>Made on first use.</b> A run is one object (it is its own <see cref="GraphRun"/> view) plus its trace
/// array and node context. What only some runs need is made when first needed, each by a compare-and-swap so that
/// racing makers agree: the token source (<c>RunToken</c>: a stop requested before it exists is recorded as
/// <see cref="StopReason"/> and cancels it when made), the completion task (<see cref="Completion"/>: made finished
/// when the run has already ended), and <c>RunExtras</c> (gates, deadline, own services, dependencies, telemetry).
/// The engine's own checks read <see cref="IsStopRequested"/>, so a run that nobody cancels never makes a token.</para>
/// <para><b>Admission.</b> A run inside its network holds one <see cref="AdmissionLease"/>. It is given back when the
/// run leaves the network (it ended, or it parks at a gate or in a backoff); a parked run takes a new lease before it
/// is posted back.
/// A lease can be given back only once, so a slot is never released twice whoever ends the run.</para>
/// </remarks>
internal sealed partial class RunExecution : GraphRun, IRunSource
{
    private readonly GraphNetwork _network;
    private string? _id;
    private NodeContext? _context;
    private CancellationTokenSource? _cancellation;
    private TaskCompletionSource? _completion;
    private RunExtras? _extras;
    private int _owner;
    private int _state;
    private int _sequence;

    // The output policy (low byte) and the run's yes/no facts, in one word: TracksMemoryFlag is set when the run is
    // made; StartEmittedFlag and CompletedFlag once each, and AdmittedFlag (the run holds a slot of its network) each
    // time it enters and leaves, all with Interlocked, so none loses another.
    private int _flags;
    private const int PolicyMask = 0xFF;
    private const int TracksMemoryFlag = 1 << 8;
    private const int StartEmittedFlag = 1 << 9;
    private const int CompletedFlag = 1 << 10;
    private const int AdmittedFlag = 1 << 11;

    /// <summary>A run of this engine, known by its <paramref name="number"/>; its id is formatted when first read.</summary>
    public RunExecution(long number, INode start, RunSettings settings, AdmissionLease lease)
        : this(start, settings, lease)
    {
        Number = number;
    }

    /// <summary>A run resumed from a checkpoint, which keeps the <paramref name="id"/> it was given when it started.</summary>
    public RunExecution(string id, INode start, RunSettings settings, AdmissionLease lease)
        : this(start, settings, lease)
    {
        _id = id;
    }

    private RunExecution(INode start, RunSettings settings, AdmissionLease lease)
    {
        _flags = (int)settings.Policy | AdmittedFlag | (settings.TrackMemory ? TracksMemoryFlag : 0);
        MaxIterations = settings.MaxIterations;
        _network = lease.Network;
        _current = start;
        _traceHead[0] = new TraceEntry(start);
        _traceCount = 1;
        var time = _network.Host.TimeProvider;
        _startedAtTicks = time.GetUtcNow().UtcTicks;
        StartTimestamp = time.GetTimestamp();
        Batch = settings.Batch;
        _rssKb = TracksMemory ? KilobytesOf(Diagnostics.ProcessMemory.SampledResidentBytes()) : 0;
        if (settings.Deadline is { } deadline)
        {
            Extras.Deadline = deadline;
            Extras.SubmittedAt = settings.SubmittedAt;
        }

        var own = settings.RunServices?.Invoke(this);
        if (own is not null)
        {
            Extras.OwnServices = own;
        }

        var services = own ?? settings.Services;
        if (services is not null && !ReferenceEquals(services, _network.Host.Services))
        {
            Extras.Services = services;
        }

        _context = new NodeContext(this);
    }

    public override string Id => Volatile.Read(ref _id) ?? FormatId();

    /// <summary>A resident size in whole kilobytes (a run keeps its memory figures in an int; pages are whole kilobytes).</summary>
    private static int KilobytesOf(long bytes) => (int)Math.Clamp(bytes >> 10, int.MinValue, int.MaxValue);

    /// <summary>Its number among this engine's runs (the registry's key); 0 for a run resumed under another engine's id.</summary>
    public long Number { get; }

    public override Graph Graph => _network.Graph;

    public override OutputPolicy Policy => (OutputPolicy)(_flags & PolicyMask);

    public int MaxIterations { get; }

    public bool TracksMemory => (_flags & TracksMemoryFlag) != 0;

    /// <summary>The batch of <see cref="GraphEngine.RunBatchAsync(Graph, IEnumerable{INode}, BatchOptions?, CancellationToken)"/> that counts this run, if any.</summary>
    public RunBatch? Batch { get; }

    /// <summary>The run as its callers see it: this same object, typed as the read-only view.</summary>
    public GraphRun View => this;

    /// <summary>The node the run started from: the trace's first.</summary>
    public INode StartNode => _traceHead[0].Node;

    public override RunState State => (RunState)Volatile.Read(ref _state);

    internal RunOwner Owner => (RunOwner)Volatile.Read(ref _owner);

    /// <summary>The context its nodes see; only the owner uses it, and only while the run is active.</summary>
    public NodeContext Context => _context ?? throw new InvalidOperationException($"Run {Id} has ended.");

    /// <summary>
    /// The token its nodes see (during a timed attempt, the attempt's); after the run has ended, one that says whether
    /// it was cancelled. Reading it makes the run's token source if it has none yet: the engine's own checks use
    /// <see cref="IsStopRequested"/>, which needs none.
    /// </summary>
    public CancellationToken CancellationToken => Volatile.Read(ref _context)?.CancellationToken ?? new CancellationToken(State == RunState.Cancelled);

    /// <summary>
    /// The executing node's token: its timed attempt's (<see cref="UseAttemptToken"/>), or else the run's own, made on
    /// first use: most runs are never cancelled and never read it.
    /// </summary>
    CancellationToken IRunSource.NodeToken => _extras is { AttemptToken.CanBeCanceled: true } extras ? extras.AttemptToken : RunToken;

    /// <summary>The services its nodes and inputs resolve from: its own or its parent's when it has them, else the engine's.</summary>
    IServiceProvider? IRunSource.Services => _extras?.Services ?? _network.Host.Services;

    /// <summary>Gives the executing node <paramref name="token"/> instead of the run's (a timed attempt's own). Its owner only.</summary>
    public void UseAttemptToken(CancellationToken token) => Extras.AttemptToken = token;

    /// <summary>Gives the executing node the run's token again, after <see cref="UseAttemptToken"/>. Its owner only.</summary>
    public void UseRunToken()
    {
        if (_extras is { } extras)
        {
            extras.AttemptToken = default;
        }
    }

    public int Iterations { get; set; }

    /// <summary>What the executing node sees as <see cref="NodeContext.Iteration"/>: the nodes executed before it (the count is raised just before a node runs).</summary>
    int IRunSource.Iteration => Math.Max(Iterations - 1, 0);

    /// <summary>The attempt of the current node, from 1; the owner moves it (<see cref="RetryCurrent"/>, <see cref="Advance"/>).</summary>
    public int Attempt { get; private set; } = 1;

    /// <summary>Whether the run's start was published; set once, by its owner.</summary>
    public bool StartEmitted => (Volatile.Read(ref _flags) & StartEmittedFlag) != 0;

    /// <summary>Records that the run's start was published (<see cref="StartEmitted"/>).</summary>
    public void MarkStartEmitted() => Interlocked.Or(ref _flags, StartEmittedFlag);

    /// <summary>The node whose inputs are filled in, so that a run resuming from a gate does not fill them again.</summary>
    public INode? PreparedNode
    {
        get => _extras?.PreparedNode;
        set => Extras.PreparedNode = value;
    }

    public int NextGateNumber
    {
        get => _extras?.NextGateNumber ?? 0;
        set => Extras.NextGateNumber = value;
    }

    public Activity? Activity
    {
        get => _extras?.Activity;
        set
        {
            if (value is not null || _extras is not null)
            {
                Extras.Activity = value;
            }
        }
    }

    /// <summary>The gates the run waits at now; empty when it waits at none.</summary>
    public override IReadOnlyList<PendingGate> PendingGates
    {
        get
        {
            var taken = false;
            try
            {
                _lock.Enter(ref taken);
                return _extras?.Gates ?? [];
            }
            finally
            {
                Exit(taken);
            }
        }
    }

    /// <summary>Ties the run to the caller's token: when it is cancelled, so is the run. No closure is allocated.</summary>
    public void LinkCancellation(CancellationToken token)
    {
        if (token.CanBeCanceled)
        {
            Extras.SubmitRegistration = token.UnsafeRegister(static s => ((RunExecution)s!).Cancel(), this);
        }
    }

    /// <summary>Cancels the run from outside, whoever owns it: see <see cref="IRunHost.Cancel"/>.</summary>
    public override bool Cancel() => _network.Host.Cancel(this);

    public int NextSequence() => Interlocked.Increment(ref _sequence);

    /// <summary>
    /// Waits until the run waits at gates, and returns them; returns an empty list when the run ends without waiting.
    /// </summary>
    public override Task<IReadOnlyList<PendingGate>> WaitForGatesAsync(CancellationToken cancellationToken = default)
    {
        var extras = Extras;
        Task<IReadOnlyList<PendingGate>> reached;
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            if (extras.Gates is { Count: > 0 } gates)
            {
                return Task.FromResult(gates);
            }

            if (State.IsFinal())
            {
                return Task.FromResult<IReadOnlyList<PendingGate>>([]);
            }

            reached = (extras.GatesReached ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
        finally
        {
            Exit(taken);
        }

        return reached.WaitAsync(cancellationToken);
    }

    /// <summary>Moves the run to a final state; only the first call wins. The caller must be its finishing owner.</summary>
    public bool TryFinish(RunState final, INode? result, Exception? exception)
    {
        Debug.Assert(final.IsFinal(), "A run can only finish in a final state.");
        Debug.Assert(Owner == RunOwner.Finishing, "Only the finishing owner ends a run.");
        var time = _network.Host.TimeProvider;
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            if (State.IsFinal())
            {
                return false;
            }

            _ending = final == RunState.Done ? result : exception;
            _endTimestamp = Math.Max(time.GetTimestamp(), 1);
            if (TracksMemory)
            {
                _rssKb = KilobytesOf(Diagnostics.ProcessMemory.SampledResidentBytes()) - _rssKb;
            }

            Volatile.Write(ref _state, (int)final);

            // An ended run is kept for its record (history, the caller's reference), so let go of what only a live
            // run needs: the token source and the node context.
            Volatile.Write(ref _cancellation, null);
            Volatile.Write(ref _context, null);
        }
        finally
        {
            Exit(taken);
        }

        if (Volatile.Read(ref _extras) is not { } extras)
        {
            return true;
        }

        extras.SubmitRegistration.Dispose();
        StopDeadline();
        SetGates(extras, null)?.TrySetResult([]);
        return true;
    }

    /// <summary>
    /// Sets the gates the run waits at (null: none), under the run's lock, and takes the signal of whoever waits for
    /// the run to reach gates, for the caller to complete outside the lock.
    /// </summary>
    private TaskCompletionSource<IReadOnlyList<PendingGate>>? SetGates(RunExtras extras, IReadOnlyList<PendingGate>? gates)
    {
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            extras.Gates = gates;
            var reached = extras.GatesReached;
            extras.GatesReached = null;
            return reached;
        }
        finally
        {
            Exit(taken);
        }
    }

    /// <summary>Disposes the services made for this run alone (<see cref="GraphEngineOptions.RunServices"/>), once.</summary>
    public ValueTask DisposeServicesAsync()
    {
        if (Volatile.Read(ref _extras) is not { } extras)
        {
            return default;
        }

        switch (Interlocked.Exchange(ref extras.OwnServices, null))
        {
            case IAsyncDisposable asyncDisposable:
                return asyncDisposable.DisposeAsync();
            case IDisposable disposable:
                disposable.Dispose();
                return default;
            default:
                return default;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Id} {State} at {Graph.NameOf(CurrentNode.GetType())}";

    private string FormatId()
    {
        var made = _parentLink is { } link ? link.ChildId(_childIndex) : _network.Host.FormatRunId(Number);
        return Interlocked.CompareExchange(ref _id, made, null) ?? made;
    }
}

/// <summary>
/// One admission slot of a network, taken by <see cref="GraphNetwork.TryEnter"/> or <see cref="GraphNetwork.EnterAsync"/>
/// and handed to a run, which gives it back exactly once (<see cref="RunExecution.ReleaseAdmission"/>). A value, so
/// that taking a slot allocates nothing; whoever takes one and cannot hand it to a run calls <see cref="Return"/>.
/// </summary>
internal readonly struct AdmissionLease(GraphNetwork network)
{
    public GraphNetwork Network => network;

    /// <summary>Gives back a slot that never reached a run.</summary>
    public void Return() => network.Leave();
}

/// <summary>A run's options after validation, fixed when it is submitted (before any wait for admission).</summary>
internal readonly record struct RunSettings(OutputPolicy Policy, int MaxIterations, bool TrackMemory, IServiceProvider? Services, Func<GraphRun, IServiceProvider>? RunServices = null, TimeSpan? Deadline = null, long SubmittedAt = 0, RunBatch? Batch = null);

using System.Diagnostics;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>
/// One execution of a graph from one start node. Created by <see cref="GraphEngine.Submit"/>; its state
/// moves Running → (Waiting) → Done | Failed | Cancelled, exactly one final state, and
/// <see cref="Completion"/> finishes when it gets there. Safe to read from any thread while it runs.
/// </summary>
public sealed class GraphRun
{
    // The trace and the node timings in one list: entry i is the i-th node visited and, once it has run, its timing.
    private readonly List<TraceEntry> _trace = new(4);
    private List<DependencyTiming>? _dependencyTimings;
    private Dictionary<DependencySpec, object?>? _dependencies;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _cancellation = new();
    private NodeContext? _context;
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly long _rssAtStart;
    private CancellationTokenRegistration _submitRegistration;
    private int _state;
    private INode _current;
    private INode? _result;
    private Exception? _exception;
    private DateTimeOffset? _endedAt;
    private long _endTimestamp;
    private long _rssDelta;
    private int _sequence;
    private int _owner;

    internal GraphRun(string id, Graph graph, INode start, OutputPolicy policy, int maxIterations, TimeProvider time, bool trackMemory, IServiceProvider? services)
    {
        Id = id;
        Graph = graph;
        Policy = policy;
        MaxIterations = maxIterations;
        _time = time;
        _current = start;
        _trace.Add(new TraceEntry(start));
        StartedAt = time.GetUtcNow();
        _startTimestamp = time.GetTimestamp();
        TracksMemory = trackMemory;
        _rssAtStart = trackMemory ? Diagnostics.ProcessMemory.ResidentBytes() : 0;
        _context = new NodeContext(id, start, _cancellation.Token, services);
    }

    /// <summary>The run's id within its engine: <c>g1</c>, <c>g2</c>, ….</summary>
    public string Id { get; }

    /// <summary>The graph the run executes.</summary>
    public Graph Graph { get; }

    /// <summary>The run's output policy.</summary>
    public OutputPolicy Policy { get; }

    /// <summary>The run's state.</summary>
    public RunState State => (RunState)Volatile.Read(ref _state);

    /// <summary>The node executing or about to execute; after the run ends, the last node it reached.</summary>
    public INode CurrentNode => Volatile.Read(ref _current);

    /// <summary>The terminal node, once the run is Done; otherwise <see langword="null"/>.</summary>
    public INode? Result => Volatile.Read(ref _result);

    /// <summary>When the run was submitted.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>When the run reached its final state; <see langword="null"/> while it is active.</summary>
    public DateTimeOffset? EndedAt
    {
        get
        {
            lock (_trace)
            {
                return _endedAt;
            }
        }
    }

    /// <summary>The run's duration so far, or in all once it has ended, from a monotonic clock.</summary>
    public TimeSpan Elapsed
    {
        get
        {
            var end = Interlocked.Read(ref _endTimestamp);
            return end == 0 ? _time.GetElapsedTime(_startTimestamp) : _time.GetElapsedTime(_startTimestamp, end);
        }
    }

    /// <summary>Why the run failed or was cancelled, as <c>ExceptionType: message</c>; <see langword="null"/> otherwise.</summary>
    public string? Error => Exception is { } e ? $"{e.GetType().Name}: {e.Message}" : null;

    /// <summary>The exception that failed or cancelled the run; <see langword="null"/> otherwise.</summary>
    public Exception? Exception
    {
        get
        {
            lock (_trace)
            {
                return _exception;
            }
        }
    }

    /// <summary>
    /// The change in the process's resident set size between the run's start and end, in bytes.
    /// Process-wide: concurrent runs see each other's allocations. 0 while active or when not tracked.
    /// </summary>
    public long RssDeltaBytes => Interlocked.Read(ref _rssDelta);

    /// <summary>Every node the run visited, in order, the start node first and the terminal node last; kept on failure.</summary>
    public IReadOnlyList<INode> Trace
    {
        get
        {
            lock (_trace)
            {
                return [.. _trace.Select(e => e.Node)];
            }
        }
    }

    /// <summary>One timing per node executed, in order.</summary>
    public IReadOnlyList<NodeTiming> NodeTimings
    {
        get
        {
            lock (_trace)
            {
                return [.. _trace.Where(e => e.Ran is not null).Select(e => new NodeTiming(e.Ran!.Name, e.Ran.Type, WallClockAt(e.Started), WallClockAt(e.Ended), _time.GetElapsedTime(e.Started, e.Ended).TotalMilliseconds))];
            }
        }
    }

    /// <summary>One timing per dependency computed for the run (each at most once), in the order they finished.</summary>
    public IReadOnlyList<DependencyTiming> DepTimings
    {
        get
        {
            lock (_trace)
            {
                return _dependencyTimings is null ? [] : [.. _dependencyTimings];
            }
        }
    }

    /// <summary>Finishes when the run reaches its final state. It never faults: read <see cref="State"/> and <see cref="Exception"/>.</summary>
    public Task Completion => _completion.Task;

    internal int MaxIterations { get; }

    /// <summary>The context its nodes see; only the run's owner uses it, and only while the run is active.</summary>
    internal NodeContext Context => _context ?? throw new InvalidOperationException($"Run {Id} has ended.");

    /// <summary>The run's token; after the run has ended, one that says whether it was cancelled.</summary>
    internal CancellationToken CancellationToken => Volatile.Read(ref _context)?.CancellationToken ?? new CancellationToken(State == RunState.Cancelled);

    internal bool TracksMemory { get; }

    internal int Iterations { get; set; }

    internal long StartTimestamp => _startTimestamp;

    internal bool StartEmitted { get; set; }

    /// <summary>The node whose inputs are filled in, so that a run resuming from a gate does not fill them again.</summary>
    internal INode? PreparedNode { get; set; }

    internal int NextGateNumber { get; set; }

    internal void RecordDependency(DependencyTiming timing)
    {
        lock (_trace)
        {
            (_dependencyTimings ??= []).Add(timing);
        }
    }

    internal bool TryGetDependency(DependencySpec spec, out object? value)
    {
        lock (_trace)
        {
            value = null;
            return _dependencies?.TryGetValue(spec, out value) == true;
        }
    }

    internal void StoreDependency(DependencySpec spec, object? value)
    {
        lock (_trace)
        {
            (_dependencies ??= [])[spec] = value;
        }
    }

    internal System.Diagnostics.Activity? Activity { get; set; }

    /// <summary>
    /// Takes the run for executing its next node. A run has one owner at a time (idle in a buffer,
    /// an executor, or a canceller), so its events are emitted one after another, in order.
    /// </summary>
    internal bool TryClaim() => Interlocked.CompareExchange(ref _owner, 1, 0) == 0;

    /// <summary>Gives the run back before handing it to the next block.</summary>
    internal void Unclaim() => Volatile.Write(ref _owner, 0);

    /// <summary>Takes an idle run for good, to finish it from outside (cancellation).</summary>
    internal bool TryClaimForFinish() => Interlocked.CompareExchange(ref _owner, 2, 0) == 0;

    /// <inheritdoc/>
    public override string ToString() => $"{Id} {State} at {Graph.NameOf(CurrentNode.GetType())}";

    internal void LinkCancellation(CancellationToken token, Action<GraphRun> cancel)
    {
        if (token.CanBeCanceled)
        {
            _submitRegistration = token.UnsafeRegister(s => cancel((GraphRun)s!), this);
        }
    }

    internal int NextSequence() => Interlocked.Increment(ref _sequence);

    internal void RequestCancel() => Volatile.Read(ref _cancellation)?.Cancel();

    internal DateTimeOffset WallClockAt(long timestamp) => StartedAt + _time.GetElapsedTime(_startTimestamp, timestamp);

    /// <summary>
    /// Records that the current node (the trace's last) ran from <paramref name="started"/> to <paramref name="ended"/>
    /// (timestamps), and the node it returned.
    /// </summary>
    internal void RecordNode(GraphNode node, long started, long ended, INode? next)
    {
        lock (_trace)
        {
            _trace[^1] = _trace[^1] with { Ran = node, Started = started, Ended = ended };
            if (next is not null && !State.IsFinal())
            {
                _trace.Add(new TraceEntry(next));
                Volatile.Write(ref _current, next);
            }
        }
    }

    internal bool TrySetWaiting(bool waiting)
    {
        var from = waiting ? RunState.Running : RunState.Waiting;
        var to = waiting ? RunState.Waiting : RunState.Running;
        return Interlocked.CompareExchange(ref _state, (int)to, (int)from) == (int)from;
    }

    /// <summary>Moves the run to a final state; only the first call wins.</summary>
    internal bool TryFinish(RunState final, INode? result, Exception? exception)
    {
        Debug.Assert(final.IsFinal(), "A run can only finish in a final state.");
        lock (_trace)
        {
            var current = _state;
            if (((RunState)current).IsFinal())
            {
                return false;
            }

            _result = result;
            _exception = exception;
            _endedAt = _time.GetUtcNow();
            Interlocked.Exchange(ref _endTimestamp, Math.Max(_time.GetTimestamp(), 1));
            if (TracksMemory)
            {
                _rssDelta = Diagnostics.ProcessMemory.ResidentBytes() - _rssAtStart;
            }

            Volatile.Write(ref _state, (int)final);

            // An ended run is kept for its record (history, the caller's reference), so let go of what only a live
            // run needs: the token source, its registrations and the node context.
            Volatile.Write(ref _cancellation, null);
            Volatile.Write(ref _context, null);
        }

        _submitRegistration.Dispose();
        return true;
    }

    internal void SignalCompletion() => _completion.TrySetResult();
}

/// <summary>
/// One node of a run's trace and, once it has run, when (monotonic timestamps): compact, turned into
/// <see cref="NodeTiming"/> when read.
/// </summary>
internal readonly record struct TraceEntry(INode Node, GraphNode? Ran = null, long Started = 0, long Ended = 0);

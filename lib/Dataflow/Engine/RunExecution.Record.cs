using System.Runtime.CompilerServices;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>What a run keeps for its record: trace, node and dependency timings, the dependency cache, its outcome.</summary>
internal sealed partial class RunExecution
{
    // The trace and the node timings in one sequence: entry i is the i-th node visited and, once it has run, its
    // timing. Its first entries are fields of the run (_traceHead), so a run through a few nodes makes no array for
    // them; a longer one keeps the rest in _traceTail, made at first use for the graph's other node types (a run of an
    // acyclic graph visits each at most once) and doubled when a run goes round. The lock guards everything the public
    // view reads (see the scheme in RunExecution.cs): a spin lock, a field of the run, because what it guards is a few
    // stores and nothing waits or calls out under it.
    private SpinLock _lock = new(enableThreadOwnerTracking: false);
    private TraceHead _traceHead;
    private TraceEntry[]? _traceTail;
    private int _traceCount;
    private INode _current;
    private object? _ending;
    private long _startedAtTicks;
    private long _endTimestamp;
    private int _rssKb;

    /// <summary>When the run was submitted, from the engine's clock.</summary>
    public override DateTimeOffset StartedAt => new(_startedAtTicks, TimeSpan.Zero);

    public long StartTimestamp { get; }

    public override INode CurrentNode => Volatile.Read(ref _current);

    public override INode? Result => State == RunState.Done ? Volatile.Read(ref _ending) as INode : null;

    /// <summary>The start time plus the run's monotonic duration, so that <c>EndedAt - StartedAt == Elapsed</c>.</summary>
    public override DateTimeOffset? EndedAt
    {
        get
        {
            var end = Volatile.Read(ref _endTimestamp);
            return end == 0 || !State.IsFinal() ? null : WallClockAt(end);
        }
    }

    public override Exception? Exception => State.IsFinal() ? Volatile.Read(ref _ending) as Exception : null;

    public override TimeSpan Elapsed
    {
        get
        {
            var end = Interlocked.Read(ref _endTimestamp);
            var time = _network.Host.TimeProvider;
            return end == 0 ? time.GetElapsedTime(StartTimestamp) : time.GetElapsedTime(StartTimestamp, end);
        }
    }

    public override long RssDeltaBytes => TracksMemory && State.IsFinal() ? Volatile.Read(ref _rssKb) * 1024L : 0;

    public override IReadOnlyList<INode> Trace
    {
        get
        {
            var taken = false;
            try
            {
                _lock.Enter(ref taken);
                var nodes = new List<INode>(_traceCount);
                for (var i = 0; i < _traceCount; i++)
                {
                    if (EntryAt(i).Attempt == 1)
                    {
                        nodes.Add(EntryAt(i).Node);
                    }
                }

                return nodes;
            }
            finally
            {
                Exit(taken);
            }
        }
    }

    public override IReadOnlyList<NodeTiming> NodeTimings
    {
        get
        {
            var time = _network.Host.TimeProvider;
            var taken = false;
            try
            {
                _lock.Enter(ref taken);
                var timings = new List<NodeTiming>(_traceCount);
                for (var i = 0; i < _traceCount; i++)
                {
                    var e = EntryAt(i);
                    if (e.Ran)
                    {
                        var type = e.Node.GetType();
                        timings.Add(new NodeTiming(Graph.NameOf(type), type, WallClockAt(e.Started), WallClockAt(e.Ended), time.GetElapsedTime(e.Started, e.Ended).TotalMilliseconds, e.Attempt));
                    }
                }

                return timings;
            }
            finally
            {
                Exit(taken);
            }
        }
    }

    public override IReadOnlyList<DependencyTiming> DepTimings
    {
        get
        {
            var taken = false;
            try
            {
                _lock.Enter(ref taken);
                return _extras?.DependencyTimings is { } timings ? [.. timings] : [];
            }
            finally
            {
                Exit(taken);
            }
        }
    }

    public void RecordDependency(DependencyTiming timing)
    {
        var extras = Extras;
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            (extras.DependencyTimings ??= []).Add(timing);
        }
        finally
        {
            Exit(taken);
        }
    }

    public bool TryGetDependency(DependencySpec spec, out object? value)
    {
        value = null;
        if (Volatile.Read(ref _extras) is not { } extras)
        {
            return false;
        }

        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            return extras.Dependencies?.TryGetValue(spec, out value) == true;
        }
        finally
        {
            Exit(taken);
        }
    }

    public void StoreDependency(DependencySpec spec, object? value)
    {
        var extras = Extras;
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            (extras.Dependencies ??= [])[spec] = value;
        }
        finally
        {
            Exit(taken);
        }
    }

    /// <summary>Forgets the cached values of <paramref name="specs"/>, so that they are computed again.</summary>
    public void ForgetDependencies(IEnumerable<DependencySpec[]> specs)
    {
        if (Volatile.Read(ref _extras)?.Dependencies is not { } dependencies)
        {
            return;
        }

        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            foreach (var level in specs)
            {
                foreach (var spec in level)
                {
                    dependencies.Remove(spec);
                }
            }
        }
        finally
        {
            Exit(taken);
        }
    }

    /// <summary>
    /// Records that an attempt of the current node ran from <paramref name="started"/> to <paramref name="ended"/> and
    /// failed, and that the node will be attempted again: the next attempt gets a timing entry of its own, but the
    /// trace keeps one entry per node visited. Only the executing owner calls it.
    /// </summary>
    public void RetryCurrent(long started, long ended)
    {
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            ref var last = ref EntryAt(_traceCount - 1);
            last = last with { Ran = true, Started = started, Ended = ended };
            Append(new TraceEntry(last.Node, Attempt: Attempt + 1));
        }
        finally
        {
            Exit(taken);
        }

        Attempt++;
    }

    /// <summary>
    /// Records that the current node (the trace's last) ran from <paramref name="started"/> to <paramref name="ended"/>
    /// (timestamps) and, when it returned one, moves on to <paramref name="next"/>. Only the executing owner calls it.
    /// </summary>
    public void Advance(long started, long ended, INode? next)
    {
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            ref var last = ref EntryAt(_traceCount - 1);
            last = last with { Ran = true, Started = started, Ended = ended };
            if (next is not null && !State.IsFinal())
            {
                Append(new TraceEntry(next));
                Volatile.Write(ref _current, next);
            }
        }
        finally
        {
            Exit(taken);
        }

        Attempt = 1;
    }

    /// <summary>Adds an entry to the trace; the caller holds the lock (or the run is not yet dispatched).</summary>
    private void Append(TraceEntry entry)
    {
        var index = _traceCount;
        if (index >= TraceHead.Length)
        {
            var inTail = index - TraceHead.Length;
            if (_traceTail is null)
            {
                _traceTail = new TraceEntry[Math.Clamp(Graph.Nodes.Count - TraceHead.Length, 2, 8)];
            }
            else if (inTail == _traceTail.Length)
            {
                Array.Resize(ref _traceTail, inTail * 2);
            }
        }

        EntryAt(index) = entry;
        _traceCount = index + 1;
    }

    /// <summary>Entry <paramref name="index"/> of the trace (below <see cref="_traceCount"/>, or the next to fill).</summary>
    private ref TraceEntry EntryAt(int index)
        => ref index < TraceHead.Length ? ref _traceHead[index] : ref _traceTail![index - TraceHead.Length];

    private void Exit(bool taken)
    {
        if (taken)
        {
            _lock.Exit(useMemoryBarrier: false);
        }
    }

    private DateTimeOffset WallClockAt(long timestamp) => StartedAt + _network.Host.TimeProvider.GetElapsedTime(StartTimestamp, timestamp);
}

/// <summary>
/// One attempt of a node of a run's trace and, once it has run (<see cref="Ran"/>), when (monotonic timestamps):
/// compact (32 bytes), turned into <see cref="NodeTiming"/> when read. A retried node has one entry per attempt; the
/// trace shows its first only.
/// </summary>
internal readonly record struct TraceEntry(INode Node, long Started = 0, long Ended = 0, int Attempt = 1, bool Ran = false);

/// <summary>
/// The first entries of a run's trace, held in the run itself: three, as many as a short graph's run visits (the
/// common start, work, end), so most runs need no trace array.
/// </summary>
[InlineArray(Length)]
internal struct TraceHead
{
    public const int Length = 3;

    private TraceEntry _first;
}

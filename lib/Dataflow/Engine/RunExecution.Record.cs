using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>What a run keeps for its record: trace, node and dependency timings, the dependency cache, its outcome.</summary>
internal sealed partial class RunExecution
{
    // The trace and the node timings in one list: entry i is the i-th node visited and, once it has run, its timing.
    // The list is also the lock for everything the public view reads (see the scheme in RunExecution.cs).
    private readonly List<TraceEntry> _record = new(4);
    private readonly TimeProvider _time;
    private readonly long _rssAtStart;
    private List<DependencyTiming>? _dependencyTimings;
    private Dictionary<DependencySpec, object?>? _dependencies;
    private INode _current;
    private INode? _result;
    private Exception? _exception;
    private DateTimeOffset? _endedAt;
    private long _endTimestamp;
    private long _rssDelta;

    public DateTimeOffset StartedAt { get; }

    public long StartTimestamp { get; }

    public INode CurrentNode => Volatile.Read(ref _current);

    public INode? Result => Volatile.Read(ref _result);

    public DateTimeOffset? EndedAt
    {
        get
        {
            lock (_record)
            {
                return _endedAt;
            }
        }
    }

    public Exception? Exception
    {
        get
        {
            lock (_record)
            {
                return _exception;
            }
        }
    }

    public TimeSpan Elapsed
    {
        get
        {
            var end = Interlocked.Read(ref _endTimestamp);
            return end == 0 ? _time.GetElapsedTime(StartTimestamp) : _time.GetElapsedTime(StartTimestamp, end);
        }
    }

    public long RssDeltaBytes => Interlocked.Read(ref _rssDelta);

    public IReadOnlyList<INode> Trace
    {
        get
        {
            lock (_record)
            {
                return [.. _record.Where(e => e.Attempt == 1).Select(e => e.Node)];
            }
        }
    }

    public IReadOnlyList<NodeTiming> NodeTimings
    {
        get
        {
            lock (_record)
            {
                return [.. _record.Where(e => e.Ran is not null).Select(e => new NodeTiming(e.Ran!.Name, e.Ran.Type, WallClockAt(e.Started), WallClockAt(e.Ended), _time.GetElapsedTime(e.Started, e.Ended).TotalMilliseconds, e.Attempt))];
            }
        }
    }

    public IReadOnlyList<DependencyTiming> DepTimings
    {
        get
        {
            lock (_record)
            {
                return _dependencyTimings is null ? [] : [.. _dependencyTimings];
            }
        }
    }

    public void RecordDependency(DependencyTiming timing)
    {
        lock (_record)
        {
            (_dependencyTimings ??= []).Add(timing);
        }
    }

    public bool TryGetDependency(DependencySpec spec, out object? value)
    {
        lock (_record)
        {
            value = null;
            return _dependencies?.TryGetValue(spec, out value) == true;
        }
    }

    public void StoreDependency(DependencySpec spec, object? value)
    {
        lock (_record)
        {
            (_dependencies ??= [])[spec] = value;
        }
    }

    /// <summary>Forgets the cached values of <paramref name="specs"/>, so that they are computed again.</summary>
    public void ForgetDependencies(IEnumerable<DependencySpec[]> specs)
    {
        lock (_record)
        {
            foreach (var level in specs)
            {
                foreach (var spec in level)
                {
                    _dependencies?.Remove(spec);
                }
            }
        }
    }

    /// <summary>
    /// Records that an attempt of the current node ran from <paramref name="started"/> to <paramref name="ended"/> and
    /// failed, and that the node will be attempted again: the next attempt gets a timing entry of its own, but the
    /// trace keeps one entry per node visited. Only the executing owner calls it.
    /// </summary>
    public void RetryCurrent(GraphNode node, long started, long ended)
    {
        lock (_record)
        {
            _record[^1] = _record[^1] with { Ran = node, Started = started, Ended = ended };
            _record.Add(new TraceEntry(_record[^1].Node, Attempt: Attempt + 1));
        }

        Attempt++;
    }

    /// <summary>
    /// Records that the current node (the trace's last) ran from <paramref name="started"/> to <paramref name="ended"/>
    /// (timestamps) and, when it returned one, moves on to <paramref name="next"/>. Only the executing owner calls it.
    /// </summary>
    public void Advance(GraphNode node, long started, long ended, INode? next)
    {
        lock (_record)
        {
            _record[^1] = _record[^1] with { Ran = node, Started = started, Ended = ended };
            if (next is not null && !State.IsFinal())
            {
                _record.Add(new TraceEntry(next));
                Volatile.Write(ref _current, next);
            }
        }

        Attempt = 1;
    }

    private DateTimeOffset WallClockAt(long timestamp) => StartedAt + _time.GetElapsedTime(StartTimestamp, timestamp);
}

/// <summary>
/// One attempt of a node of a run's trace and, once it has run, when (monotonic timestamps): compact, turned into
/// <see cref="NodeTiming"/> when read. A retried node has one entry per attempt; the trace shows its first only.
/// </summary>
internal readonly record struct TraceEntry(INode Node, GraphNode? Ran = null, long Started = 0, long Ended = 0, int Attempt = 1);

using System.Globalization;

namespace Dataflow.Engine;

/// <summary>The engine's runs: ids, the active runs, and a bounded history of ended ones. Thread-safe.</summary>
/// <remarks>
/// <para>Ids are <c>&lt;prefix&gt;&lt;n&gt;</c>: <c>g1</c>, <c>g2</c>, … on an engine without a checkpoint store; with one, the store
/// reserves a prefix unique among every engine that shares it (<c>d7-1</c>, <c>d7-2</c>, …), so that ids stay unique
/// across processes and sessions and short to read.</para>
/// <para>A run of this engine is known by its number <c>n</c>: its id string is formatted only when someone reads it
/// (<see cref="Format"/>), and a lookup by id parses the number back. The active runs sit in a few shards, each a
/// plain dictionary by number behind its own lock, so that adding and removing a run allocates nothing (a concurrent
/// dictionary allocates a node per entry) and two threads rarely meet at one lock. A run resumed from a checkpoint
/// keeps the id it was given by another engine: those are kept by their id string, in shards of their own. A child run of
/// a fan-out or subgraph has its parent's id and its place in its own (<c>g7/3</c>), made only when read: it is kept by
/// a negative number of its own, and a lookup by its id goes through its parent's fan-outs; ended, it is kept in the
/// history by its id.</para>
/// </remarks>
internal sealed class RunRegistry(int historyCapacity, string prefix = "g")
{
    private const int ShardCount = 16;

    /// <summary>How deep a lookup by a child's id follows its parents (fan-outs nested deeper are found only by the history).</summary>
    private const int MaxChildDepth = 32;

    private readonly Shard[] _shards = [.. Enumerable.Range(0, ShardCount).Select(_ => new Shard())];
    private readonly ForeignShard[] _foreign = [.. Enumerable.Range(0, ShardCount).Select(_ => new ForeignShard())];
    private readonly Lock _historyGate = new();
    private readonly Queue<RunExecution> _history = new();
    private readonly Dictionary<string, RunExecution> _historyByForeignId = new(StringComparer.Ordinal);
    private readonly Dictionary<long, RunExecution> _historyByNumber = [];
    private long _nextId;
    private long _nextChild;

    /// <summary>The number of the next run of this engine (its id is <see cref="Format"/> of it).</summary>
    public long NextNumber() => Interlocked.Increment(ref _nextId);

    /// <summary>
    /// The number of the next child run of a fan-out or subgraph: negative, so that it never meets a run's number of
    /// <see cref="NextNumber"/> (nor a number parsed from an id); a child's id is its parent's and its place, made when read.
    /// </summary>
    public long NextChildNumber() => -Interlocked.Increment(ref _nextChild);

    /// <summary>The id of this engine's run number <paramref name="number"/>.</summary>
    public string Format(long number) => string.Create(CultureInfo.InvariantCulture, $"{prefix}{number}");

    public void Add(RunExecution run)
    {
        if (run.Number == 0)
        {
            var id = run.Id;
            var foreign = ForeignShardOf(id);
            lock (foreign.Gate)
            {
                foreign.Runs[id] = run;
            }

            return;
        }

        var shard = ShardOf(run.Number);
        lock (shard.Gate)
        {
            shard.Runs[run.Number] = run;
        }
    }

    /// <summary>Forgets a run that never started (its network refused it).</summary>
    public void Remove(RunExecution run)
    {
        if (run.Number == 0)
        {
            var id = run.Id;
            var foreign = ForeignShardOf(id);
            lock (foreign.Gate)
            {
                foreign.Runs.Remove(id);
            }

            return;
        }

        var shard = ShardOf(run.Number);
        lock (shard.Gate)
        {
            shard.Runs.Remove(run.Number);
        }
    }

    /// <summary>Moves an ended run from the active runs to the history.</summary>
    public void Ended(RunExecution run)
    {
        Remove(run);
        if (historyCapacity == 0)
        {
            return;
        }

        lock (_historyGate)
        {
            _history.Enqueue(run);
            Index(run, add: true);
            while (_history.Count > historyCapacity)
            {
                Index(_history.Dequeue(), add: false);
            }
        }
    }

    public RunExecution? Find(string runId) => Find(runId, 0);

    private RunExecution? Find(string runId, int depth)
    {
        var number = NumberOf(runId);
        if (number != 0)
        {
            var shard = ShardOf(number);
            lock (shard.Gate)
            {
                if (shard.Runs.TryGetValue(number, out var active))
                {
                    return active;
                }
            }
        }

        var shardOfId = ForeignShardOf(runId);
        lock (shardOfId.Gate)
        {
            if (shardOfId.Runs.TryGetValue(runId, out var active))
            {
                return active;
            }
        }

        // Through at most MaxChildDepth parents: an id is caller input (a dashboard path), and a hostile one of
        // thousands of slashes must not recurse that deep.
        if (depth < MaxChildDepth && runId.LastIndexOf('/') is > 0 and var slash && slash < runId.Length - 1 && runId[slash + 1] != '0'
            && long.TryParse(runId.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var childNumber)
            && Find(runId[..slash], depth + 1)?.LiveChild(childNumber) is { } child)
        {
            // A child in flight, found through its parent (children are kept by an internal number, their ids made when read).
            return child;
        }

        lock (_historyGate)
        {
            return (number != 0 ? _historyByNumber.GetValueOrDefault(number) : null) ?? _historyByForeignId.GetValueOrDefault(runId);
        }
    }

    /// <summary>The active runs (a snapshot; some may end while it is read).</summary>
    public IReadOnlyList<RunExecution> ActiveRuns
    {
        get
        {
            var runs = new List<RunExecution>();
            foreach (var shard in _shards)
            {
                lock (shard.Gate)
                {
                    runs.AddRange(shard.Runs.Values);
                }
            }

            foreach (var foreign in _foreign)
            {
                lock (foreign.Gate)
                {
                    runs.AddRange(foreign.Runs.Values);
                }
            }

            return runs;
        }
    }

    public IReadOnlyList<RunExecution> History()
    {
        lock (_historyGate)
        {
            return [.. _history];
        }
    }

    private Shard ShardOf(long number) => _shards[(int)(number & (ShardCount - 1))];

    /// <summary>
    /// The number of this engine's run whose id is <paramref name="runId"/>, or 0 when it is not such an id: another
    /// prefix, or a number that <see cref="Format"/> would not write (a sign, leading zeros).
    /// </summary>
    private long NumberOf(string runId)
    {
        if (!runId.StartsWith(prefix, StringComparison.Ordinal))
        {
            return 0;
        }

        var digits = runId.AsSpan(prefix.Length);
        return digits is [>= '1' and <= '9', ..] && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : 0;
    }

    private void Index(RunExecution run, bool add)
    {
        if (run.Number <= 0)
        {
            if (add)
            {
                _historyByForeignId[run.Id] = run;
            }
            else
            {
                _historyByForeignId.Remove(run.Id);
            }
        }
        else if (add)
        {
            _historyByNumber[run.Number] = run;
        }
        else
        {
            _historyByNumber.Remove(run.Number);
        }
    }

    /// <summary>One lock and the active runs whose numbers fall to it.</summary>
    private ForeignShard ForeignShardOf(string id) => _foreign[(int)((uint)StringComparer.Ordinal.GetHashCode(id) % ShardCount)];

    /// <summary>Runs known by their id string: resumed ones, and the children of fan-outs and subgraphs (many, at once).</summary>
    private sealed class ForeignShard
    {
        public Lock Gate { get; } = new();

        public Dictionary<string, RunExecution> Runs { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Shard
    {
        public Lock Gate { get; } = new();

        public Dictionary<long, RunExecution> Runs { get; } = [];
    }
}

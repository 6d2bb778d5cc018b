using System.Collections.Concurrent;
using System.Globalization;

namespace Dataflow.Engine;

/// <summary>The engine's runs: ids, the active runs, and a bounded history of ended ones. Thread-safe.</summary>
/// <remarks>
/// Ids are <c>&lt;prefix&gt;&lt;n&gt;</c>: <c>g1</c>, <c>g2</c>, … on an engine without a checkpoint store; with one, the store
/// reserves a prefix unique among every engine that shares it (<c>d7-1</c>, <c>d7-2</c>, …), so that ids stay unique
/// across processes and sessions and short to read.
/// </remarks>
internal sealed class RunRegistry(int historyCapacity, string prefix = "g")
{
    private readonly ConcurrentDictionary<string, RunExecution> _active = new(StringComparer.Ordinal);
    private readonly Lock _historyGate = new();
    private readonly Queue<RunExecution> _history = new();
    private readonly Dictionary<string, RunExecution> _historyById = new(StringComparer.Ordinal);
    private long _nextId;

    public string NextId() => string.Create(CultureInfo.InvariantCulture, $"{prefix}{Interlocked.Increment(ref _nextId)}");

    public void Add(RunExecution run) => _active[run.Id] = run;

    /// <summary>Forgets a run that never started (its network refused it).</summary>
    public void Remove(RunExecution run) => _active.TryRemove(run.Id, out _);

    /// <summary>Moves an ended run from the active runs to the history.</summary>
    public void Ended(RunExecution run)
    {
        _active.TryRemove(run.Id, out _);
        if (historyCapacity == 0)
        {
            return;
        }

        lock (_historyGate)
        {
            _history.Enqueue(run);
            _historyById[run.Id] = run;
            while (_history.Count > historyCapacity)
            {
                _historyById.Remove(_history.Dequeue().Id);
            }
        }
    }

    public RunExecution? Find(string runId)
    {
        if (_active.TryGetValue(runId, out var run))
        {
            return run;
        }

        lock (_historyGate)
        {
            return _historyById.GetValueOrDefault(runId);
        }
    }

    /// <summary>The active runs (a snapshot; some may end while it is read).</summary>
    public ICollection<RunExecution> ActiveRuns => _active.Values;

    public IReadOnlyList<RunExecution> History()
    {
        lock (_historyGate)
        {
            return [.. _history];
        }
    }
}

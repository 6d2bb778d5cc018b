using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// A run's place among fan-outs and subgraphs: a child's link to the fan-out it belongs to (set before it is
/// dispatched, read by its finisher), a parent's numbering of its children and the fan-outs of its trace summary.
/// </summary>
internal sealed partial class RunExecution
{
    // A child's link in fields of its own, not in the run's extras: a fan-out makes thousands of children, and the
    // extras object would be most of what each one costs beyond its run.
    private FanOutWait? _parentLink;
    private int _childIndex;

    /// <summary>The fan-out this run is a child of; null for a run submitted on its own.</summary>
    public FanOutWait? ParentLink => _parentLink;

    /// <summary>The item position of this child in its fan-out.</summary>
    public int ChildIndex => _childIndex;

    /// <inheritdoc/>
    public override string? ParentId => _parentLink?.ParentId;

    /// <inheritdoc/>
    public override IReadOnlyList<ChildRunGroup> Children
    {
        get => [.. FanOutsNow().Select(w => w.Summary())];
    }

    /// <summary>Makes this run a child of <paramref name="wait"/> at item <paramref name="index"/>. Before dispatch only.</summary>
    public void LinkToParent(FanOutWait wait, int index)
    {
        _childIndex = index;
        _parentLink = wait;
    }

    /// <summary>How many children this run has started so far: the next child's number is one more. Its owner only.</summary>
    public int ChildrenStarted
    {
        get => _extras?.NextChildNumber ?? 0;
        set => Extras.NextChildNumber = value;
    }

    /// <summary>The child numbered <paramref name="number"/> of any of this run's fan-outs, if it is in flight now.</summary>
    public RunExecution? LiveChild(long number)
    {
        foreach (var wait in FanOutsNow())
        {
            if (wait.LiveChild(number) is { } child)
            {
                return child;
            }
        }

        return null;
    }

    /// <summary>Records a fan-out of this run in its trace summary; its owner only.</summary>
    public void AddFanOut(FanOutWait wait)
    {
        var extras = Extras;
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            (extras.FanOuts ??= []).Add(wait);
        }
        finally
        {
            Exit(taken);
        }
    }

    /// <summary>A copy of this run's fan-outs so far, taken under its lock; empty when it started none.</summary>
    private FanOutWait[] FanOutsNow()
    {
        if (Volatile.Read(ref _extras) is not { } extras)
        {
            return [];
        }

        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            return extras.FanOuts is { } fanOuts ? [.. fanOuts] : [];
        }
        finally
        {
            Exit(taken);
        }
    }

    /// <summary>Moves the run on to <paramref name="next"/> (a join or recovery node after its children); its owner only.</summary>
    public void MoveTo(INode next)
    {
        var taken = false;
        try
        {
            _lock.Enter(ref taken);
            Append(new TraceEntry(next));
            Volatile.Write(ref _current, next);
        }
        finally
        {
            Exit(taken);
        }

        Attempt = 1;
    }
}

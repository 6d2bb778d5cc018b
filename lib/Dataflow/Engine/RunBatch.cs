using System.Runtime.ExceptionServices;
using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// The runs of one <see cref="GraphEngine.RunBatchAsync(Graph, IEnumerable{INode}, BatchOptions?, CancellationToken)"/>:
/// counted as they start and as they end, with no object per run (no completion task, no continuation), so that a
/// batch of millions keeps nothing of a run once it has ended. Thread-safe: runs end on any thread.
/// </summary>
internal sealed class RunBatch(Action<GraphRun>? ended)
{
    private readonly CountdownSignal _outstanding = new();
    private readonly long[] _ended = new long[3];
    private long _submitted;
    private ExceptionDispatchInfo? _callbackFailure;

    /// <summary>The first exception that the <see cref="BatchOptions.RunEnded"/> callback threw, if any.</summary>
    public ExceptionDispatchInfo? CallbackFailure => Volatile.Read(ref _callbackFailure);

    /// <summary>A run of the batch began; called before anything can end it.</summary>
    public void Add()
    {
        Interlocked.Increment(ref _submitted);
        _outstanding.Add();
    }

    /// <summary>A run counted by <see cref="Add"/> never began after all (the engine refused it).</summary>
    public void Withdraw()
    {
        Interlocked.Decrement(ref _submitted);
        _outstanding.Signal();
    }

    /// <summary>A run of the batch ended in <paramref name="state"/>: counted, told to the callback, and let go.</summary>
    public void RunEnded(RunExecution run, RunState state)
    {
        // Done, Failed and Cancelled are the final states, in that order.
        Interlocked.Increment(ref _ended[state - RunState.Done]);
        if (ended is not null)
        {
            try
            {
                ended(run.View);
            }
            catch (Exception e)
            {
                // Called from the end of a run, which must not fail: the batch's task reports it instead.
                Interlocked.CompareExchange(ref _callbackFailure, ExceptionDispatchInfo.Capture(e), null);
            }
        }

        _outstanding.Signal();
    }

    /// <summary>No more runs will begin: completes once every run counted has ended.</summary>
    public Task CloseAsync() => _outstanding.Close();

    public BatchResult Result => new(Interlocked.Read(ref _submitted), Interlocked.Read(ref _ended[0]), Interlocked.Read(ref _ended[1]), Interlocked.Read(ref _ended[2]));
}

namespace Dataflow.Engine;

/// <summary>
/// The engine's own tasks that run outside any block (finishing a cancelled run, waiting at gates): each is counted
/// while it runs, and an unexpected failure is kept and rethrown by <see cref="DrainAsync"/>, so none goes unobserved.
/// </summary>
internal sealed class BackgroundWork
{
    private readonly CountdownSignal _running = new();
    private readonly Lock _gate = new();
    private List<Exception>? _failures;

    /// <summary>Starts counting <paramref name="work"/> (already started) until it ends.</summary>
    public void Track(Task work)
    {
        _running.Add();
        if (work.IsCompleted)
        {
            Ended(work);
            return;
        }

        _ = work.ContinueWith(static (t, s) => ((BackgroundWork)s!).Ended(t), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Starts counting work that is not a task (a callback waiting for a signal); <see cref="End"/> stops it.</summary>
    public void Begin() => _running.Add();

    /// <summary>Stops counting work started with <see cref="Begin"/>.</summary>
    public void End() => _running.Signal();

    /// <summary>Waits until every tracked task has ended; throws what failed unexpectedly.</summary>
    public async Task DrainAsync()
    {
        await _running.Close().ConfigureAwait(false);
        lock (_gate)
        {
            if (_failures is not null)
            {
                throw new AggregateException("Background work of the engine failed unexpectedly.", _failures);
            }
        }
    }

    /// <summary>Keeps an unexpected failure of work that nobody awaits, for <see cref="DrainAsync"/> to rethrow.</summary>
    public void Failed(Exception failure)
    {
        lock (_gate)
        {
            (_failures ??= []).Add(failure);
        }
    }

    private void Ended(Task work)
    {
        if (work.Exception is { } failure)
        {
            lock (_gate)
            {
                (_failures ??= []).AddRange(failure.InnerExceptions);
            }
        }

        _running.Signal();
    }
}

using System.Diagnostics;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>
/// What a run makes only when it is first needed (see "Made on first use" in <c>RunExecution.cs</c>): the completion
/// task, the token source, and the rarely used state in <see cref="RunExtras"/>. Each is published by a
/// compare-and-swap, so racing makers agree on one, and each is paired with the flag or reason that a maker reads after
/// publishing, so that nothing set meanwhile is missed.
/// </summary>
internal sealed partial class RunExecution
{
    /// <summary>Made when first read (many callers never read it); finished once the run has ended.</summary>
    public override Task Completion
    {
        get
        {
            if (Volatile.Read(ref _completion) is { } made)
            {
                return made.Task;
            }

            if ((Volatile.Read(ref _flags) & CompletedFlag) != 0)
            {
                return Task.CompletedTask;
            }

            var completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (Interlocked.CompareExchange(ref _completion, completion, null) is { } other)
            {
                return other.Task;
            }

            // Published before reading the flag, as SignalCompletion sets the flag before reading the source: one of
            // the two sees the other, so the task is finished either way.
            if ((Volatile.Read(ref _flags) & CompletedFlag) != 0)
            {
                completion.TrySetResult();
            }

            return completion.Task;
        }
    }

    /// <summary>What only some runs need (gates, deadlines, own services, dependencies, telemetry), made on first use.</summary>
    private RunExtras Extras
    {
        get
        {
            if (Volatile.Read(ref _extras) is { } extras)
            {
                return extras;
            }

            var made = new RunExtras();
            return Interlocked.CompareExchange(ref _extras, made, null) ?? made;
        }
    }

    private CancellationToken RunToken
    {
        get
        {
            if (Volatile.Read(ref _cancellation) is { } source)
            {
                return source.Token;
            }

            if (Volatile.Read(ref _context) is null)
            {
                return new CancellationToken(State == RunState.Cancelled);
            }

            var made = new CancellationTokenSource();
            if (Interlocked.CompareExchange(ref _cancellation, made, null) is { } other)
            {
                made.Dispose();
                return other.Token;
            }

            // Published before reading the reason, as RequestStop records the reason before reading the source: a stop
            // requested before the source existed still cancels it.
            if (IsStopRequested)
            {
                made.Cancel();
            }

            return made.Token;
        }
    }

    public void SignalCompletion()
    {
        // The flag first, then the source: see Completion.
        Interlocked.Or(ref _flags, CompletedFlag);
        Volatile.Read(ref _completion)?.TrySetResult();
    }

    /// <summary>What only some runs need, made on first use (<see cref="Extras"/>); guarded as the fields it replaces.</summary>
    private sealed class RunExtras
    {
        public object? OwnServices;

        // The services of a run that does not use the engine's: its own (OwnServices), or its parent's own.
        public IServiceProvider? Services;

        // A timed attempt's token, which the executing node sees instead of the run's while it is set.
        public CancellationToken AttemptToken;
        public IReadOnlyList<PendingGate>? Gates;
        public TaskCompletionSource<IReadOnlyList<PendingGate>>? GatesReached;
        public CancellationTokenRegistration SubmitRegistration;
        public ITimer? DeadlineTimer;
        public TimeSpan? Deadline;
        public long SubmittedAt;
        public List<DependencyTiming>? DependencyTimings;
        public Dictionary<DependencySpec, object?>? Dependencies;
        public Activity? Activity;
        public INode? PreparedNode;
        public int NextGateNumber;

        // Fan-outs and subgraphs (RunExecution.Children.cs): a parent's child numbering and its fan-outs so far.
        public int NextChildNumber;
        public List<FanOutWait>? FanOuts;
    }
}

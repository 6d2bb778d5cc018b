using System.Diagnostics;
using System.Reflection;
using Dataflow.Diagnostics;
using Dataflow.Engine.Resilience;
using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Engine;

/// <summary>
/// What a step does when its node fails or runs past its timeout: retry after a backoff (the run leaves the network),
/// route to the recovery node, or end the run.
/// </summary>
/// <remarks>
/// <para><b>Timeouts.</b> A node with a timeout gets a token source of its own per attempt, cancelled at the timeout
/// (on the engine's clock) or when the run's token fires; its <see cref="NodeContext.CancellationToken"/> is that
/// token while the attempt runs. An asynchronous node is awaited until its token fires and no longer: the attempt
/// fails with <see cref="NodeTimeoutException"/> (or the run ends, if it was stopped), and the node's task is left to
/// finish, its outcome observed and discarded. A blocking node runs on its dedicated thread and cannot be pre-empted:
/// the engine learns it is done only when the call returns, so its token is cancelled at the timeout, and when it
/// returns after that the attempt fails with <see cref="NodeTimeoutException"/>, whatever it returned. Its thread
/// stays taken until then, which costs its own node type's parallelism and nothing else: asynchronous nodes run on the
/// thread pool, which no blocking node occupies.</para>
/// <para><b>Retries.</b> A failure is retried when the node has a retry policy, attempts remain, the run was not
/// stopped, and the policy's predicate says so. Then the attempt's timing is kept, a retry event is published and
/// counted, and the run is parked with the backoff waiter (which publishes the retry event); when it comes back, <see cref="BeforeRetryAsync"/> runs
/// the node again without counting another visit, reusing the inputs filled for the first attempt (dependencies
/// computed afresh only with <see cref="RetryPolicy.FreshDependencies"/>).</para>
/// <para><b>Recovery.</b> A node that fails for good, with a recovery route, hands a <see cref="NodeFailure"/> to
/// a new recovery node, which the run moves to like any successor (a transition event carrying the error).
/// A run that was cancelled or passed its deadline is never retried nor recovered.</para>
/// </remarks>
internal sealed partial class NetworkStep
{
    /// <summary>Invokes the node under its timeout; never throws.</summary>
    private async ValueTask<(INode? Next, Exception? Failure)> InvokeTimedAsync(RunExecution run, INode node, TimeSpan timeout)
    {
        var runToken = run.CancellationToken;
        using var attempt = new CancellationTokenSource(timeout, _host.TimeProvider);
        using var link = runToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), attempt);
        var context = run.Context;
        run.UseAttemptToken(attempt.Token);
        try
        {
            var (result, pending) = _invoke!(node, context);
            if (pending is not null)
            {
                try
                {
                    await pending.WaitAsync(attempt.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!pending.IsCompleted)
                {
                    // The token fired before the node finished. A node that honours its token finishes a moment later (its
                    // continuation may still be queued behind others); one that ignores it does not: tell them apart.
                    if (!await FinishesWithinGraceAsync(pending).ConfigureAwait(false))
                    {
                        // The node ignores its token: stop waiting for it. Its task is observed, and its outcome discarded.
                        _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                        return (null, runToken.IsCancellationRequested ? new OperationCanceledException(runToken) : new NodeTimeoutException(Name, timeout, run.Attempt));
                    }
                }

                // Finished: rethrows what the node threw, as itself (the catch below names it as the timeout's cause).
                await pending.ConfigureAwait(false);
                result = _resultOf!(pending);
            }

            // A node that returned after its timeout fails the attempt, whatever it returned (a blocking node cannot be
            // pre-empted, so this is where its timeout shows).
            return attempt.IsCancellationRequested && !runToken.IsCancellationRequested
                ? (null, new NodeTimeoutException(Name, timeout, run.Attempt))
                : (result, null);
        }
        catch (Exception e)
        {
            return attempt.IsCancellationRequested && !runToken.IsCancellationRequested
                ? (null, new NodeTimeoutException(Name, timeout, run.Attempt, e))
                : (null, e);
        }
        finally
        {
            run.UseRunToken();
        }
    }

    /// <summary>
    /// How long, in real time, a node whose attempt's token has fired gets to finish before it is taken to ignore its
    /// token. Real time, not the engine's clock: it waits for the node's own continuation to run, not for time to pass.
    /// </summary>
    internal static readonly TimeSpan CooperativeGrace = TimeSpan.FromMilliseconds(250);

    /// <summary>Whether <paramref name="pending"/> finishes (in any way) within <see cref="CooperativeGrace"/>.</summary>
    private static async ValueTask<bool> FinishesWithinGraceAsync(Task pending)
    {
        try
        {
            await pending.WaitAsync(CooperativeGrace, TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (Exception)
        {
            // Finished with its own exception: the caller rethrows it.
        }

        return true;
    }

    /// <summary>
    /// Before a retry: the attempt's span (with its <c>dataflow.attempt</c>), then the node's dependencies recomputed
    /// if its policy asks for fresh ones, as children of that span.
    /// </summary>
    private async ValueTask<(Outcome? Early, Activity? Span)> BeforeRetryAsync(RunExecution run)
    {
        var span = RunInstrumentation.NodeStarted(run, Name, run.Attempt);
        if (Node.Resilience.Retry is { FreshDependencies: true } && Node.Inputs.Levels.Count > 0)
        {
            run.ForgetDependencies(Node.Inputs.Levels);
            try
            {
                await InputResolver.FillAsync(run, Node, run.CurrentNode, _host.TimeProvider, span).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return (InputsFailed(run, e, span), null);
            }
        }

        return (null, span);
    }

    /// <summary>The node failed (threw, timed out, or broke its contract): retry, recover, or end the run.</summary>
    private async ValueTask<Outcome> FailedAsync(RunExecution run, INode node, Exception failure, long started, long ended, double duration, Activity? activity)
    {
        var attempt = run.Attempt;
        if (run.IsStopRequested)
        {
            // The run was stopped: a cancellation the node saw, or anything after the deadline, ends it as stopped.
            run.Advance(started, ended, null);
            var stop = failure is OperationCanceledException || run.StopReason == StopReason.Deadline ? _host.Stopped(run, failure) : new RunStop(RunState.Failed, failure);
            RunInstrumentation.NodeEnded(activity, _tag, duration, stop.State, stop.Error);
            return Outcome.Stop(stop);
        }

        RunInstrumentation.NodeEnded(activity, _tag, duration, RunState.Failed, failure);
        if (Node.Resilience.Retry is { } retry && attempt < retry.MaxAttempts && (retry.ShouldRetry ?? RetryDefaults.ShouldRetry)(failure))
        {
            var delay = retry.DelayAfter(attempt, (Random.Shared.NextDouble() * 2) - 1);
            run.RetryCurrent(started, ended);
            if (DataflowTelemetry.NodeRetries.Enabled)
            {
                DataflowTelemetry.NodeRetries.Add(1, _tag);
            }

            _host.ParkForBackoff(run, this, attempt, delay, failure);
            return Outcome.HandedOn;
        }

        if (Node.Resilience.RecoveryConstructor is not { } constructor)
        {
            run.Advance(started, ended, null);
            return Outcome.End(RunState.Failed, null, failure);
        }

        var handed = new NodeFailure(run.Id, failure, node, Name, attempt);
        INode recovery;
        try
        {
            recovery = (INode)constructor.Invoke([handed]);
        }
        catch (TargetInvocationException e)
        {
            run.Advance(started, ended, null);
            return Outcome.End(RunState.Failed, null, new NodeContractException($"Recovery node '{constructor.DeclaringType!.Name}' of node '{Name}' could not be created: {e.InnerException?.GetType().Name}: {e.InnerException?.Message}; the node failed with {failure.GetType().Name}: {failure.Message}"));
        }

        run.Advance(started, ended, recovery);
        var recoveryStep = Network.StepFor(recovery.GetType())!;
        await _host.EmitRecoveryAsync(run, recoveryStep.Name, handed).ConfigureAwait(false);
        if (run.Durable is { } durable && recoveryStep.Block is not null)
        {
            await durable.MovedAsync(run).ConfigureAwait(false);
            durable.PendingSave = default;
        }

        return HandOn(run, recoveryStep, recovery);
    }
}

using System.Diagnostics;
using Dataflow.Diagnostics;

namespace Dataflow.Engine;

/// <summary>
/// Reports runs, nodes and dependencies to the library's <see cref="ActivitySource"/> and meter, doing nothing while
/// nobody listens: each call checks <see cref="ActivitySource.HasListeners"/> or the instrument's
/// <see cref="System.Diagnostics.Metrics.Instrument.Enabled"/> first, and allocates nothing when both are off.
/// </summary>
/// <remarks>
/// Spans nest run → node → dependency. A <c>dataflow.node</c> span is one attempt of a node: it starts before the
/// node's inputs are resolved, so the <c>dataflow.dependency</c> spans of the dependencies computed for it are its
/// children, and ends when the node returned or threw. A dependency already in the run's cache is not computed and
/// makes no span. A child run's span (a fan-out's or a subgraph's) is a child of its parent run's span and carries
/// <c>dataflow.parent_run_id</c>. A run that waits at gates ends the span of its node with the outcome <c>waiting</c> when it parks
/// (its dependencies are resolved by then); the node gets a new span when the gates are resolved and it runs.
/// </remarks>
internal static class RunInstrumentation
{
    // Boxed once, so tagging an attempt allocates nothing for the usual few attempts.
    private static readonly object[] Attempts = [.. Enumerable.Range(0, 17).Select(i => (object)i)];

    /// <summary>A run was admitted: its span (not made current: runs outlive their submitter's scope) and the counter.</summary>
    public static void RunStarted(RunExecution run)
    {
        if (DataflowTelemetry.ActivitySource.HasListeners())
        {
            var previous = Activity.Current;
            if (run.ParentLink is { } parent)
            {
                // A child run (a fan-out's, a subgraph's) is traced under its parent's run span.
                run.Activity = DataflowTelemetry.ActivitySource.StartActivity("dataflow.run", ActivityKind.Internal, parent.ParentActivity?.Context ?? default);
                run.Activity?.SetTag("dataflow.parent_run_id", parent.ParentId);
            }
            else
            {
                run.Activity = DataflowTelemetry.ActivitySource.StartActivity("dataflow.run", ActivityKind.Internal);
            }

            run.Activity?.SetTag("dataflow.run_id", run.Id);
            run.Activity?.SetTag("dataflow.graph", run.Graph.StartName);
            Activity.Current = previous;
        }

        if (DataflowTelemetry.RunsStarted.Enabled)
        {
            DataflowTelemetry.RunsStarted.Add(1);
        }
    }

    /// <summary>A run reached its final state: counters, duration (seconds), and the end of its span.</summary>
    public static void RunEnded(RunExecution run, RunState state)
    {
        var outcome = RunOutcome.Tag(state);
        var tag = new KeyValuePair<string, object?>("dataflow.outcome", outcome);
        if (DataflowTelemetry.RunsCompleted.Enabled)
        {
            DataflowTelemetry.RunsCompleted.Add(1, tag);
        }

        if (state == RunState.Failed && DataflowTelemetry.RunsFailed.Enabled)
        {
            DataflowTelemetry.RunsFailed.Add(1);
        }

        if (DataflowTelemetry.RunDuration.Enabled)
        {
            DataflowTelemetry.RunDuration.Record(run.Elapsed.TotalSeconds, tag);
        }

        if (run.Activity is { } activity)
        {
            activity.SetTag("dataflow.outcome", outcome);
            if (state == RunState.Failed)
            {
                activity.SetStatus(ActivityStatusCode.Error, run.View.Error);
                if (run.View.Exception is { } exception)
                {
                    activity.SetTag("error.type", exception.GetType().FullName);
                }
            }

            activity.Stop();
        }
    }

    /// <summary>
    /// The span of one attempt of a node, under its run's span, started before the node's inputs are resolved; null
    /// while nobody listens. The caller makes it current where the node runs.
    /// </summary>
    public static Activity? NodeStarted(RunExecution run, string node, int attempt)
    {
        if (!DataflowTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = DataflowTelemetry.ActivitySource.StartActivity("dataflow.node", ActivityKind.Internal, run.Activity?.Context ?? default);
        if (activity is not null)
        {
            activity.SetTag("dataflow.run_id", run.Id);
            activity.SetTag("dataflow.node", node);
            activity.SetTag("dataflow.attempt", attempt < Attempts.Length ? Attempts[attempt] : attempt);
        }

        return activity;
    }

    /// <summary>
    /// A node returned or threw: the execution counter, its duration in seconds, and the end of its span with how it
    /// went (<c>ok</c>, or the state the run fails or stops in; status Error and <c>error.type</c> when it failed).
    /// </summary>
    public static void NodeEnded(Activity? activity, in KeyValuePair<string, object?> nodeTag, double durationSeconds, RunState? failedAs, Exception? failure)
    {
        if (DataflowTelemetry.NodeDuration.Enabled)
        {
            DataflowTelemetry.NodeDuration.Record(durationSeconds, nodeTag);
        }

        if (DataflowTelemetry.NodeExecutions.Enabled)
        {
            DataflowTelemetry.NodeExecutions.Add(1, nodeTag, new KeyValuePair<string, object?>("dataflow.outcome", failedAs is { } state ? RunOutcome.Tag(state) : "ok"));
        }

        NodeSpanEnded(activity, failedAs, failure);
    }

    /// <summary>
    /// Ends a node's span without counting an execution: its inputs could not be resolved (the run fails or stops
    /// there), or something unexpected ended the step. Does nothing to a span already ended.
    /// </summary>
    public static void NodeSpanEnded(Activity? activity, RunState? failedAs, Exception? failure)
    {
        if (activity is null || activity.IsStopped)
        {
            return;
        }

        activity.SetTag("dataflow.outcome", failedAs is { } state ? RunOutcome.Tag(state) : "ok");
        if (failedAs == RunState.Failed)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure?.Message);
            if (failure is not null)
            {
                activity.SetTag("error.type", failure.GetType().FullName);
            }
        }

        activity.Stop();
    }

    /// <summary>The run parks at its node's gates, its inputs resolved: the node's span ends with the outcome <c>waiting</c>.</summary>
    public static void NodeParked(Activity? activity)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag("dataflow.outcome", "waiting");
        activity.Stop();
    }

    /// <summary>
    /// The span of one dependency computation, a child of its node's span; null when the node has no span (nobody
    /// listens, or the node was not sampled), so a dependency never makes a span of its own outside its node's.
    /// </summary>
    public static Activity? DependencyStarted(Activity? node, RunExecution run, string nodeName, string dependency)
    {
        if (node is null)
        {
            return null;
        }

        var activity = DataflowTelemetry.ActivitySource.StartActivity("dataflow.dependency", ActivityKind.Internal, node.Context);
        if (activity is not null)
        {
            activity.SetTag("dataflow.run_id", run.Id);
            activity.SetTag("dataflow.node", nodeName);
            activity.SetTag("dataflow.dependency", dependency);
        }

        return activity;
    }

    /// <summary>A dependency was computed, or failed: the end of its span (status Error and <c>error.type</c> on failure).</summary>
    public static void DependencyEnded(Activity? activity, Exception? failure)
    {
        if (activity is null)
        {
            return;
        }

        if (failure is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure.Message);
            activity.SetTag("error.type", (failure.InnerException ?? failure).GetType().FullName);
        }

        activity.Stop();
    }
}

using System.Diagnostics;
using Dataflow.Diagnostics;

namespace Dataflow.Engine;

/// <summary>Reports runs and nodes to the library's <see cref="ActivitySource"/> and meter, doing nothing while nobody listens.</summary>
internal static class RunInstrumentation
{
    /// <summary>A run was admitted: its span (not made current: runs outlive their submitter's scope) and the counter.</summary>
    public static void RunStarted(RunExecution run)
    {
        if (DataflowTelemetry.ActivitySource.HasListeners())
        {
            var previous = Activity.Current;
            run.Activity = DataflowTelemetry.ActivitySource.StartActivity("dataflow.run", ActivityKind.Internal);
            run.Activity?.SetTag("dataflow.run_id", run.Id);
            run.Activity?.SetTag("dataflow.graph", run.Graph.StartName);
            Activity.Current = previous;
        }

        if (DataflowTelemetry.RunsStarted.Enabled)
        {
            DataflowTelemetry.RunsStarted.Add(1);
        }
    }

    /// <summary>A run reached its final state: counters, duration, and the end of its span.</summary>
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
            DataflowTelemetry.RunDuration.Record(run.Elapsed.TotalMilliseconds, tag);
        }

        if (run.Activity is { } activity)
        {
            activity.SetTag("dataflow.outcome", outcome);
            if (state == RunState.Failed)
            {
                activity.SetStatus(ActivityStatusCode.Error, run.View.Error);
            }

            activity.Stop();
        }
    }

    /// <summary>A node span under its run's span; null while nobody listens.</summary>
    public static Activity? NodeStarted(RunExecution run, string node)
    {
        if (!DataflowTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        var activity = DataflowTelemetry.ActivitySource.StartActivity("dataflow.node", ActivityKind.Internal, run.Activity?.Context ?? default);
        activity?.SetTag("dataflow.run_id", run.Id);
        activity?.SetTag("dataflow.node", node);
        return activity;
    }

    /// <summary>A node returned or threw: its duration, and the end of its span with how it went.</summary>
    public static void NodeEnded(Activity? activity, in KeyValuePair<string, object?> nodeTag, double durationMs, RunState? failedAs, Exception? failure)
    {
        if (DataflowTelemetry.NodeDuration.Enabled)
        {
            DataflowTelemetry.NodeDuration.Record(durationMs, nodeTag);
        }

        if (activity is null)
        {
            return;
        }

        activity.SetTag("dataflow.outcome", failedAs is { } state ? RunOutcome.Tag(state) : "ok");
        if (failedAs == RunState.Failed)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure?.Message);
        }

        activity.Dispose();
    }
}

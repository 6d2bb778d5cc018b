using System.Diagnostics;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>Fills a node's dependency and recall inputs before it runs.</summary>
internal static class InputResolver
{
    /// <summary>
    /// Computes the node's missing dependencies, level by level, then sets its dependency and recall inputs. Each
    /// computation gets a <c>dataflow.dependency</c> span under <paramref name="span"/>, the node's (none when it is
    /// null); a dependency the run has cached is not computed and makes no span.
    /// </summary>
    public static async ValueTask FillAsync(RunExecution run, GraphNode node, INode instance, TimeProvider time, Activity? span)
    {
        var plan = node.Inputs;
        foreach (var level in plan.Levels)
        {
            // Dependencies within a level do not depend on each other: compute the missing ones concurrently.
            var missing = level.Where(spec => !run.TryGetDependency(spec, out _)).ToArray();
            if (missing.Length == 1)
            {
                await ComputeAsync(run, node, missing[0], time, span).ConfigureAwait(false);
            }
            else if (missing.Length > 1)
            {
                await Task.WhenAll(missing.Select(spec => ComputeAsync(run, node, spec, time, span).AsTask())).ConfigureAwait(false);
            }
        }

        foreach (var input in plan.Dependencies)
        {
            run.TryGetDependency(input.Spec, out var value);
            input.Property.SetValue(instance, value);
        }

        foreach (var recall in plan.Recalls)
        {
            recall.Property.SetValue(instance, Recall(run, recall.Property.PropertyType) is { Found: true } hit
                ? hit.Value
                : throw new RecallException(node.Name, recall.Property.Name, recall.Property.PropertyType));
        }
    }

    private static async ValueTask ComputeAsync(RunExecution run, GraphNode node, DependencySpec spec, TimeProvider time, Activity? span)
    {
        var started = time.GetTimestamp();
        var activity = RunInstrumentation.DependencyStarted(span, run, node.Name, spec.Name);
        object? value;
        try
        {
            value = spec.DependencyType is null
                ? Service(run, node, spec)
                : await spec.Resolve!(Create(run, node, spec), run.Context).ConfigureAwait(false);
        }
        catch (DependencyException e)
        {
            RunInstrumentation.DependencyEnded(activity, e);
            throw;
        }
        catch (Exception e)
        {
            var failure = new DependencyException(spec.Name, node.Name, $"Dependency '{spec.Name}' of node '{node.Name}' failed: {e.GetType().Name}: {e.Message}", e);
            RunInstrumentation.DependencyEnded(activity, failure);
            throw failure;
        }

        RunInstrumentation.DependencyEnded(activity, null);
        run.RecordDependency(new DependencyTiming(spec.Name, time.GetElapsedTime(started).TotalMilliseconds));
        run.StoreDependency(spec, value);
    }

    private static object Service(RunExecution run, GraphNode node, DependencySpec spec)
        => run.Context.Services?.GetService(spec.ValueType)
            ?? throw new DependencyException(
                spec.Name,
                node.Name,
                $"Dependency '{spec.Name}' of node '{node.Name}' has no service: register a '{TypeNames.Of(spec.ValueType)}' in the IServiceProvider given to GraphEngineOptions.Services.");

    private static object Create(RunExecution run, GraphNode node, DependencySpec spec)
    {
        var type = spec.DependencyType!;
        var instance = run.Context.Services?.GetService(type);
        if (instance is null)
        {
            if (type.GetConstructor(Type.EmptyTypes) is null)
            {
                throw new DependencyException(
                    spec.Name,
                    node.Name,
                    $"Dependency '{spec.Name}' of node '{node.Name}' cannot be created: give it a parameterless constructor, or register it in GraphEngineOptions.Services.");
            }

            instance = Activator.CreateInstance(type)!;
        }

        foreach (var input in spec.Inputs)
        {
            run.TryGetDependency(input.Spec, out var value);
            input.Property.SetValue(instance, value);
        }

        return instance;
    }

    /// <summary>
    /// Walks the trace from the most recent earlier node back: the first node of the type wins, or else the first
    /// non-null plain property of that type on it.
    /// </summary>
    private static (bool Found, object? Value) Recall(RunExecution run, Type type)
    {
        var trace = run.Trace;
        for (var i = trace.Count - 2; i >= 0; i--)
        {
            if (type.IsInstanceOfType(trace[i]))
            {
                return (true, trace[i]);
            }

            foreach (var property in run.Graph.Find(trace[i].GetType())?.PlainProperties ?? [])
            {
                if (type.IsAssignableFrom(property.PropertyType) && property.GetValue(trace[i]) is { } value)
                {
                    return (true, value);
                }
            }
        }

        return (false, null);
    }
}

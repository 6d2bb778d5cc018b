using Dataflow.Diagnostics;

// OpenTelemetry's convention: instrumentation extensions live in the builder's namespace, so the one line needs no using.
namespace OpenTelemetry.Trace;

/// <summary>Subscribes an OpenTelemetry tracer provider to Dataflow's <c>ActivitySource</c>, named <c>Dataflow</c>.</summary>
/// <remarks>
/// <para>Names follow OpenTelemetry's semantic conventions where one applies: durations in seconds (unit <c>s</c>),
/// attributes namespaced <c>dataflow.*</c>, <c>error.type</c> (the exception's full type name) and status Error on a
/// failed span. Nothing is recorded, and the engine allocates nothing for telemetry, while no provider listens.</para>
/// <para><b>Spans</b> (kind Internal) nest run → node → dependency, in one trace per run:</para>
/// <list type="bullet">
/// <item><c>dataflow.run</c>: one per run, a root span from admission to its final state. Attributes
/// <c>dataflow.run_id</c>, <c>dataflow.graph</c> (the start node's name), <c>dataflow.outcome</c> (<c>done</c>,
/// <c>failed</c>, <c>cancelled</c>); status Error and <c>error.type</c> when failed.</item>
/// <item><c>dataflow.node</c>: one per attempt of a node, a child of its run's span, from before the node's inputs are
/// resolved to its result. Attributes <c>dataflow.run_id</c>, <c>dataflow.node</c>, <c>dataflow.attempt</c> (1, then 2,
/// 3… for each retry, so every attempt is its own span), <c>dataflow.outcome</c> (<c>ok</c>; <c>failed</c> or
/// <c>cancelled</c>, also for an attempt that is retried; <c>waiting</c> when the run parks at the node's gates, after
/// which the node gets a new span when it runs); status Error and <c>error.type</c> when failed.</item>
/// <item><c>dataflow.dependency</c>: one per dependency computed for a node (a <c>[Dep]</c> input), a child of that
/// node's span. Attributes <c>dataflow.run_id</c>, <c>dataflow.node</c>, <c>dataflow.dependency</c> (the dependency
/// type's or service type's name); status Error and <c>error.type</c> when it threw. A dependency the run already
/// holds (computed for an earlier node) is not computed again and makes no span.</item>
/// </list>
/// <para><b>Metrics</b> (meter <c>Dataflow</c>):</para>
/// <list type="bullet">
/// <item><c>dataflow.runs.started</c>, <c>dataflow.runs.completed</c> (attribute <c>dataflow.outcome</c>),
/// <c>dataflow.runs.failed</c>: counters, unit <c>{run}</c>.</item>
/// <item><c>dataflow.run.duration</c>: histogram, unit <c>s</c>, from submit to the final state, attribute
/// <c>dataflow.outcome</c>; bucket advice from 1 ms to an hour.</item>
/// <item><c>dataflow.node.duration</c>: histogram, unit <c>s</c>, one attempt of a node's <c>RunAsync</c> (its input
/// resolution is in the span, not here), attribute <c>dataflow.node</c>; bucket advice from 100 µs to a minute.</item>
/// <item><c>dataflow.node.executions</c>: counter, unit <c>{execution}</c>, attempts of a node that returned or threw,
/// attributes <c>dataflow.node</c> and <c>dataflow.outcome</c> (<c>ok</c>, <c>failed</c>, <c>cancelled</c>).</item>
/// <item><c>dataflow.node.retries</c>: counter, unit <c>{attempt}</c>, failed attempts retried after a backoff,
/// attribute <c>dataflow.node</c>.</item>
/// <item><c>dataflow.events.emitted</c>: counter, unit <c>{event}</c>, events published that a sink accepted, attribute
/// <c>dataflow.event</c> (the event kind).</item>
/// <item><c>dataflow.events.dropped</c> and <c>dataflow.sink.failures</c>: counters, unit <c>{event}</c>, events a
/// lossy sink dropped and events a sink threw on, attribute <c>dataflow.sink</c>.</item>
/// <item><c>dataflow.sink.queue_depth</c>: up-down counter, unit <c>{event}</c>, events waiting for a sink, attribute
/// <c>dataflow.sink</c>.</item>
/// </list>
/// <para>The names are the core's (<see cref="DataflowTelemetry"/>); this package adds no instrument of its own.</para>
/// </remarks>
public static class DataflowTracerProviderBuilderExtensions
{
    /// <summary>Records Dataflow's spans: <c>dataflow.run</c>, its <c>dataflow.node</c> children and their <c>dataflow.dependency</c> children.</summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddDataflowInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(DataflowTelemetry.Name);
    }
}

using Dataflow.Diagnostics;

// OpenTelemetry's convention: instrumentation extensions live in the builder's namespace, so the one line needs no using.
namespace OpenTelemetry.Trace;

/// <summary>Subscribes an OpenTelemetry tracer provider to Dataflow's <c>ActivitySource</c>, named <c>Dataflow</c>.</summary>
/// <remarks>
/// <para>Spans (kind Internal): <c>dataflow.run</c>, one per run, from admission to its final state, with the
/// attributes <c>dataflow.run_id</c>, <c>dataflow.graph</c> (the start node's name) and <c>dataflow.outcome</c>
/// (<c>done</c>, <c>failed</c>, <c>cancelled</c>; status Error when failed); <c>dataflow.node</c>, one per node
/// execution, a child of its run's span, with <c>dataflow.run_id</c>, <c>dataflow.node</c> and <c>dataflow.outcome</c>
/// (<c>ok</c> or how the run ended there).</para>
/// <para>Metrics: <c>dataflow.runs.started</c>, <c>dataflow.runs.completed</c> (tag <c>dataflow.outcome</c>),
/// <c>dataflow.runs.failed</c> (counters, <c>{run}</c>); <c>dataflow.run.duration</c> and <c>dataflow.node.duration</c>
/// (histograms in milliseconds, the latter tagged <c>dataflow.node</c>); <c>dataflow.events.emitted</c>,
/// <c>dataflow.events.dropped</c> and <c>dataflow.sink.failures</c> (counters, <c>{event}</c>, the last two tagged
/// <c>dataflow.sink</c>); <c>dataflow.sink.queue_depth</c> (up-down counter, tagged <c>dataflow.sink</c>).</para>
/// <para>The names are the core's (<see cref="DataflowTelemetry"/>); this package adds no instrument of its own.</para>
/// </remarks>
public static class DataflowTracerProviderBuilderExtensions
{
    /// <summary>Records Dataflow's spans: <c>dataflow.run</c> and its <c>dataflow.node</c> children.</summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder.</returns>
    public static TracerProviderBuilder AddDataflowInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(DataflowTelemetry.Name);
    }
}

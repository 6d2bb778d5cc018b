using Dataflow.Diagnostics;

// OpenTelemetry's convention: instrumentation extensions live in the builder's namespace, so the one line needs no using.
namespace OpenTelemetry.Metrics;

/// <summary>Subscribes an OpenTelemetry meter provider to Dataflow's <c>Meter</c>, named <c>Dataflow</c>.</summary>
/// <remarks>The instruments are listed on <see cref="Trace.DataflowTracerProviderBuilderExtensions"/>.</remarks>
public static class DataflowMeterProviderBuilderExtensions
{
    /// <summary>
    /// Records Dataflow's metrics: runs, node executions and retries, run and node durations (in seconds), events,
    /// drops, sink failures and queues.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder.</returns>
    public static MeterProviderBuilder AddDataflowInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(DataflowTelemetry.Name);
    }
}

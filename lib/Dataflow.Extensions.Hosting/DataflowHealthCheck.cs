using Dataflow.Engine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dataflow.Extensions.Hosting;

/// <summary>Registers the engine's health check.</summary>
public static class DataflowHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check of the engine that <c>AddDataflow</c> registered. Unhealthy while the application stops
    /// (the engine drains) or when events went undelivered; Degraded while a sink has failed on an event (failures are
    /// counted for the engine's lifetime); Healthy otherwise. Its data: <c>runs_in_flight</c>, <c>pending_gates</c>,
    /// <c>undelivered_events</c>, <c>sink_failures</c>, <c>failing_sinks</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="tags">Tags to filter checks by.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddDataflow(this IHealthChecksBuilder builder, string name = "dataflow", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return builder.Add(new HealthCheckRegistration(
            name,
            static services => new DataflowHealthCheck(services.GetRequiredService<GraphEngine>(), services.GetRequiredService<EngineLifetime>()),
            failureStatus: null,
            tags));
    }
}

/// <summary>Reports the engine's state: runs in flight, failing sinks, undelivered events, shutdown.</summary>
internal sealed class DataflowHealthCheck(GraphEngine engine, EngineLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failing = engine.Events.Sinks.Where(s => s.Failures > 0).ToArray();
        var data = new Dictionary<string, object>
        {
            ["runs_in_flight"] = engine.Active().Count,
            ["pending_gates"] = engine.PendingGateCount,
            ["undelivered_events"] = engine.UndeliveredEvents,
            ["sink_failures"] = engine.Events.SinkFailures,
            ["failing_sinks"] = failing.Select(s => s.Name).ToArray(),
        };

        HealthCheckResult result;
        if (lifetime.IsStopping)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, "The application is stopping: the engine is draining its runs.", data: data);
        }
        else if (engine.UndeliveredEvents > 0)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, $"{engine.UndeliveredEvents} events could not be delivered: the event hub was disposed before the engine.", data: data);
        }
        else if (failing.Length > 0)
        {
            var sinks = string.Join(", ", failing.Select(s => $"'{s.Name}' ({s.Failures} failures)"));
            result = HealthCheckResult.Degraded($"Event sinks failed on events: {sinks}.", data: data);
        }
        else
        {
            result = HealthCheckResult.Healthy($"{data["runs_in_flight"]} runs in flight.", data);
        }

        return Task.FromResult(result);
    }
}

using Dataflow.Engine;
using Dataflow.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Dataflow.Extensions.Hosting;

/// <summary>Registers the engine's health check.</summary>
public static class DataflowHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check of the engine that <c>AddDataflow</c> registered. Unhealthy while the application stops
    /// (the engine drains), when events went undelivered, or when a store's writer stopped writing after an error
    /// (its entries are lost); Degraded while a sink has failed on an event (failures are counted for the engine's
    /// lifetime) or a store's writes are stalled (the database is locked; they are retried); Healthy otherwise. Its
    /// data: <c>runs_in_flight</c>, <c>pending_gates</c>, <c>undelivered_events</c>, <c>sink_failures</c>,
    /// <c>failing_sinks</c>, and for the stores registered with <c>AddStore</c> (<c>AddDataflowSqliteStore</c>):
    /// <c>store_queued</c>, <c>store_unwritten</c>, <c>failing_stores</c>.
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
            static services => new DataflowHealthCheck(services.GetRequiredService<GraphEngine>(), services.GetRequiredService<EngineLifetime>(), services.GetRequiredService<HostedStores>()),
            failureStatus: null,
            tags));
    }
}

/// <summary>Reports the engine's state: runs in flight, failing sinks, undelivered events, store writers, shutdown.</summary>
internal sealed class DataflowHealthCheck(GraphEngine engine, EngineLifetime lifetime, HostedStores stores) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failing = engine.Events.Sinks.Where(s => s.Failures > 0).ToArray();
        var writers = stores.All.Where(s => s.Health is not null).Select(s => (s.Name, Health: s.Health!())).ToArray();
        var stopped = writers.Where(w => w.Health.Stopped).ToArray();
        var stalled = writers.Where(w => !w.Health.Stopped && w.Health.StalledSince is not null).ToArray();
        var data = new Dictionary<string, object>
        {
            ["runs_in_flight"] = engine.Active().Count,
            ["pending_gates"] = engine.PendingGateCount,
            ["undelivered_events"] = engine.UndeliveredEvents,
            ["sink_failures"] = engine.Events.SinkFailures,
            ["failing_sinks"] = failing.Select(s => s.Name).ToArray(),
        };
        if (writers.Length > 0)
        {
            data["store_queued"] = writers.Sum(w => w.Health.Queued);
            data["store_unwritten"] = writers.Sum(w => w.Health.Unwritten);
            data["failing_stores"] = stopped.Concat(stalled).Select(w => w.Name).ToArray();
        }

        HealthCheckResult result;
        if (lifetime.IsStopping)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, "The application is stopping: the engine is draining its runs.", data: data);
        }
        else if (engine.UndeliveredEvents > 0)
        {
            result = new HealthCheckResult(context.Registration.FailureStatus, $"{engine.UndeliveredEvents} events could not be delivered: the event hub was disposed before the engine.", data: data);
        }
        else if (stopped.Length > 0)
        {
            var why = string.Join("; ", stopped.Select(w => $"'{w.Name}' ({w.Health.Unwritten} entries unwritten: {w.Health.LastError?.Message})"));
            result = new HealthCheckResult(context.Registration.FailureStatus, $"Stores stopped writing after an error: {why}.", FirstError(stopped), data);
        }
        else if (failing.Length > 0 || stalled.Length > 0)
        {
            var problems = new List<string>();
            if (failing.Length > 0)
            {
                problems.Add($"Event sinks failed on events: {string.Join(", ", failing.Select(s => $"'{s.Name}' ({s.Failures} failures)"))}.");
            }

            if (stalled.Length > 0)
            {
                problems.Add($"Store writes are stalled and retried: {string.Join("; ", stalled.Select(w => $"'{w.Name}' since {w.Health.StalledSince:O} ({w.Health.LastError?.Message})"))}.");
            }

            result = HealthCheckResult.Degraded(string.Join(" ", problems), stalled.Length > 0 ? FirstError(stalled) : null, data);
        }
        else
        {
            result = HealthCheckResult.Healthy($"{data["runs_in_flight"]} runs in flight.", data);
        }

        return Task.FromResult(result);

        static Exception? FirstError((string Name, BatchWriterHealth Health)[] writers) => writers.Select(x => x.Health.LastError).FirstOrDefault(e => e is not null);
    }
}

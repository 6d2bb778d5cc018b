using Dataflow.Engine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Dataflow.Extensions.Hosting;

/// <summary>Registers Dataflow in an <see cref="IServiceCollection"/>.</summary>
public static class DataflowServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="GraphEngine"/> as a singleton, configured in code, with a service scope per run for
    /// <c>[Dep]</c> inputs, the <see cref="GraphCatalog"/>, and the hosted service that drains the engine when the
    /// application stops. Calling it again adds configuration; it registers nothing twice.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets engine options in code; runs after configuration binding.</param>
    /// <returns>A builder to register graphs and sinks with.</returns>
    public static IDataflowBuilder AddDataflow(this IServiceCollection services, Action<GraphEngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddCore(services);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return new DataflowBuilder(services);
    }

    /// <summary>
    /// Registers Dataflow as <see cref="AddDataflow(IServiceCollection, Action{GraphEngineOptions}?)"/> does, with the
    /// engine options bound from <paramref name="configuration"/> (such as the <c>Dataflow</c> section of
    /// <c>appsettings.json</c>: <c>HistoryCapacity</c>, <c>MaxIterations</c>, <c>CancelRunsOnDispose</c>,
    /// <c>TrackMemory</c>). A key that names no option fails the engine's creation, naming the key.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The configuration section to bind.</param>
    /// <param name="configure">Sets engine options in code; runs after the binding, so code wins.</param>
    /// <returns>A builder to register graphs and sinks with.</returns>
    public static IDataflowBuilder AddDataflow(this IServiceCollection services, IConfiguration configuration, Action<GraphEngineOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<GraphEngineOptions>().Bind(configuration, binder => binder.ErrorOnUnknownConfiguration = true);
        return services.AddDataflow(configure);
    }

    private static void AddCore(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(DataflowMarker)))
        {
            return;
        }

        services.AddSingleton<DataflowMarker>();
        services.AddOptions<GraphEngineOptions>()
            .PostConfigure<IServiceScopeFactory>((options, scopes) => options.RunServices ??= _ => new RunServiceScope(scopes.CreateAsyncScope()));
        services.TryAddSingleton(CreateEngine);
        services.TryAddSingleton(static s => new GraphCatalog(s.GetServices<GraphDescriptor>()));
        services.TryAddSingleton<EngineLifetime>();
        services.TryAddSingleton<HostedStores>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DataflowHostedService>());
    }

    private static GraphEngine CreateEngine(IServiceProvider services)
    {
        var engine = new GraphEngine(services.GetRequiredService<IOptions<GraphEngineOptions>>().Value);
        foreach (var sink in services.GetServices<SinkDescriptor>())
        {
            engine.Events.AddSink(sink.Create(services), sink.Options);
        }

        return engine;
    }

    /// <summary>Marks a collection that has the core registrations.</summary>
    private sealed class DataflowMarker;
}

using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dataflow.Extensions.Hosting;

/// <summary>Registers graphs and sinks on an <see cref="IDataflowBuilder"/>.</summary>
public static class DataflowBuilderExtensions
{
    /// <summary>
    /// Registers the graph that starts at <typeparamref name="TStart"/>. Get it from <see cref="GraphCatalog.Get{TStart}"/>,
    /// or as a keyed <see cref="Graph"/> service whose key is <c>typeof(TStart)</c>. The graph is built, and so
    /// validated, when the catalog is first resolved: at the latest when the host starts.
    /// </summary>
    /// <typeparam name="TStart">The start node type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the graph's options (parallelism, runs in flight, node options, effects).</param>
    /// <returns>The builder.</returns>
    public static IDataflowBuilder AddGraph<TStart>(this IDataflowBuilder builder, Action<GraphOptions>? configure = null)
        where TStart : INode
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(new GraphDescriptor(typeof(TStart), configure));
        builder.Services.AddKeyedSingleton(typeof(TStart), static (services, _) => services.GetRequiredService<GraphCatalog>().Get<TStart>());
        return builder;
    }

    /// <summary>Adds an event sink to the engine's hub when the engine is created.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Makes the sink from the application's services.</param>
    /// <param name="options">The sink's policy, capacity, name and write timeout; validated when the engine is created.</param>
    /// <returns>The builder.</returns>
    public static IDataflowBuilder AddSink(this IDataflowBuilder builder, Func<IServiceProvider, IEventSink> factory, SinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddSingleton(new SinkDescriptor(factory, options));
        return builder;
    }

    /// <summary>
    /// Registers a store that the hosted engine writes its history to, the way a backend package registers its own
    /// (<c>AddDataflowSqliteStore</c> in <c>Dataflow.Extensions.Hosting.Sqlite</c>): <typeparamref name="TStore"/> as a
    /// singleton (inject it to read the history), and a <see cref="StoreEventSink"/> over it on the engine's hub. The
    /// store is opened with the engine, so a store that cannot be opened stops the host from starting. When the
    /// application stops, the hosted service disposes the store after the engine has drained its runs and sinks, so
    /// every event is written before the store closes. With <paramref name="health"/>, the health check reports the
    /// store's writer: Degraded while its writes are stalled, Unhealthy once it stopped writing.
    /// </summary>
    /// <typeparam name="TStore">The store; one registration per type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="factory">Opens the store, from the application's services.</param>
    /// <param name="health">Reads the store's writer health, or null when it has none.</param>
    /// <param name="options">
    /// The sink's options, copied now; its name (default <c>store</c>) names the store in the health check and the
    /// logs. When null: the name <c>store</c>, policy Verbose (whatever the runs emit) and room for 4096 events.
    /// </param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">A <typeparamref name="TStore"/> is already registered.</exception>
    public static IDataflowBuilder AddStore<TStore>(this IDataflowBuilder builder, Func<IServiceProvider, TStore> factory, Func<TStore, BatchWriterHealth>? health = null, SinkOptions? options = null)
        where TStore : class, IEntryStore, IAsyncDisposable
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        if (builder.Services.Any(d => d.ServiceType == typeof(TStore)))
        {
            throw new InvalidOperationException($"A {typeof(TStore).Name} is already registered: the hosted engine writes to one store of each type.");
        }

        var sink = options ?? new SinkOptions { Capacity = 4096 };
        var name = sink.Name ?? "store";
        sink = new SinkOptions { Name = name, Policy = sink.Policy, Capacity = sink.Capacity, Lossy = sink.Lossy, WriteTimeout = sink.WriteTimeout };
        builder.Services.AddSingleton(factory);
        builder.Services.AddSingleton(new StoreDescriptor(typeof(TStore), name));
        return builder.AddSink(
            services =>
            {
                var store = services.GetRequiredService<TStore>();
                services.GetRequiredService<HostedStores>().Add(new HostedStore(name, store, health is null ? null : () => health(store)));
                return new StoreEventSink(store);
            },
            sink);
    }

    /// <summary>
    /// Adds a sink that writes lifecycle events as structured <see cref="ILogger"/> records in the category
    /// <c>Dataflow.Runs</c>: properties <c>RunId</c>, <c>Kind</c>, <c>Graph</c>, <c>Node</c>, <c>NextNode</c>,
    /// <c>DurationMs</c>, <c>Error</c>, <c>Sequence</c>; levels Debug (transition), Information (start, complete, gate),
    /// Warning (cancel), Error (fail, error).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="policy">Which events the sink takes, like any sink's <see cref="SinkOptions.Policy"/>.</param>
    /// <returns>The builder.</returns>
    public static IDataflowBuilder AddLoggerSink(this IDataflowBuilder builder, OutputPolicy policy = OutputPolicy.Normal)
        => builder.AddSink(
            static services => new LoggerEventSink(services.GetRequiredService<ILoggerFactory>().CreateLogger(LoggerEventSink.Category)),
            new SinkOptions { Policy = policy, Name = "logger" });
}

/// <summary>A graph registered by its start type.</summary>
internal sealed record GraphDescriptor(Type StartType, Action<GraphOptions>? Configure);

/// <summary>A sink to add to the hub when the engine is created.</summary>
internal sealed record SinkDescriptor(Func<IServiceProvider, IEventSink> Create, SinkOptions? Options);

using Dataflow.Events;
using Dataflow.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Extensions.Hosting;

/// <summary>Registers the SQLite session store (<see cref="SessionStore"/>) as the hosted engine's history.</summary>
public static partial class DataflowSqliteBuilderExtensions
{
    /// <summary>
    /// Writes the hosted engine's history to the SQLite store at <paramref name="path"/>, as
    /// <see cref="AddDataflowSqliteStore(IDataflowBuilder, string, Action{SessionStoreOptions}?, SinkOptions?)"/> does
    /// with the default options.
    /// </summary>
    /// <param name="builder">The builder that <c>AddDataflow</c> returned.</param>
    /// <param name="path">The database file; a relative path is relative to the host's content root.</param>
    /// <returns>The builder.</returns>
    public static IDataflowBuilder AddDataflowSqliteStore(this IDataflowBuilder builder, string path)
        => builder.AddDataflowSqliteStore(path, configure: null);

    /// <summary>
    /// Writes the hosted engine's history to the SQLite store at <paramref name="path"/>: registers a
    /// <see cref="SessionStore"/> singleton (inject it to search the history) and an event sink that records every event
    /// it takes in the store, one session per application run. The store opens with the engine, so a file that is not a
    /// Dataflow store, or a read-only or locked one, stops the host from starting. When the application stops, the store
    /// is flushed and closed after the engine has drained. The health check (<c>AddHealthChecks().AddDataflow()</c>)
    /// reports its writer: Degraded while writes are stalled on a locked database, Unhealthy once it stopped writing.
    /// Write errors are logged (category <c>Dataflow.Store</c>) unless <see cref="SessionStoreOptions.OnWriteError"/> is set.
    /// </summary>
    /// <param name="builder">The builder that <c>AddDataflow</c> returned.</param>
    /// <param name="path">The database file; a relative path is relative to the host's content root.</param>
    /// <param name="configure">Sets the store's options (batching, busy timeout, session metadata) when it is opened.</param>
    /// <param name="sink">
    /// The sink's options (which events the store keeps, its queue, its name in the health check); when null: the name
    /// <c>sqlite</c>, every event the runs emit, room for 4096 events.
    /// </param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">A SQLite store is already registered.</exception>
    public static IDataflowBuilder AddDataflowSqliteStore(this IDataflowBuilder builder, string path, Action<SessionStoreOptions>? configure, SinkOptions? sink = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return builder.AddStore(
            services => Open(services, path, configure),
            static store => store.Health,
            sink ?? new SinkOptions { Name = "sqlite", Capacity = 4096 });
    }

    private static SessionStore Open(IServiceProvider services, string path, Action<SessionStoreOptions>? configure)
    {
        var options = new SessionStoreOptions();
        configure?.Invoke(options);
        if (options.OnWriteError is null)
        {
            var logger = (services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance).CreateLogger("Dataflow.Store");
            options.OnWriteError = e => LogWriteError(logger, e, path);
        }

        var root = services.GetService<IHostEnvironment>()?.ContentRootPath;
        return new SessionStore(root is null ? path : Path.Combine(root, path), options);
    }

    [LoggerMessage(1, LogLevel.Warning, "Dataflow SQLite store '{Path}': a write failed")]
    private static partial void LogWriteError(ILogger logger, Exception exception, string path);
}

using Dataflow.Engine;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Dataflow.Extensions.Hosting;

/// <summary>
/// Owns the engine's lifetime in a generic host. On start it creates the engine and builds every registered graph,
/// so a bad option or a broken graph stops the host from starting. On stop it lets the runs in flight finish until
/// the host's shutdown timeout fires (the token <see cref="StopAsync"/> gets), cancels the rest, then disposes the
/// engine, which returns once every run is final and every sink has been drained; then it disposes the stores
/// registered with <c>AddStore</c> (such as <c>AddDataflowSqliteStore</c>), which writes what they still hold.
/// </summary>
/// <remarks>
/// It is registered by the first <c>AddDataflow</c> call. Hosted services stop in the reverse order of their
/// registration, so services registered after <c>AddDataflow</c> (the producers that submit runs) stop before the
/// engine drains. The engine has no way to stop admitting runs short of disposal; a run submitted during the wait is
/// waited for too.
/// </remarks>
internal sealed partial class DataflowHostedService(GraphEngine engine, GraphCatalog graphs, EngineLifetime lifetime, HostedStores stores, ILoggerFactory? loggerFactory = null)
    : IHostedService
{
    private readonly ILogger _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Dataflow.Hosting");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogStarted(_logger, graphs.Graphs.Count);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        lifetime.BeginStopping();
        var inFlight = engine.Active().Count;
        LogStopping(_logger, inFlight);
        var finished = await WaitForRunsAsync(cancellationToken).ConfigureAwait(false);
        var cancelled = 0;
        if (!finished)
        {
            foreach (var run in engine.Active())
            {
                if (run.Cancel())
                {
                    cancelled++;
                }
            }
        }

        await engine.DisposeAsync().ConfigureAwait(false);
        LogStopped(_logger, cancelled);
        await CloseStoresAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Disposes the stores once the engine has drained into them: each writes what it still holds and closes. A store
    /// that fails to is logged, and the others are still closed.
    /// </summary>
    private async Task CloseStoresAsync()
    {
        foreach (var store in stores.All)
        {
            try
            {
                await store.Store.DisposeAsync().ConfigureAwait(false);
                if (store.Health?.Invoke() is { } health)
                {
                    LogStoreClosed(_logger, store.Name, health.Written, health.Unwritten);
                }
                else
                {
                    LogStoreClosedNoHealth(_logger, store.Name);
                }
            }
            catch (Exception e)
            {
                LogStoreCloseFailed(_logger, e, store.Name);
            }
        }
    }

    /// <summary>Waits until no run is in flight; false when <paramref name="cancellationToken"/> (the shutdown timeout) fires first.</summary>
    private async Task<bool> WaitForRunsAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var active = engine.Active();
            if (active.Count == 0)
            {
                return true;
            }

            var all = active.Count == 1 ? active[0].Completion : Task.WhenAll(active.Select(r => r.Completion));
            await all.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Dataflow engine started with {GraphCount} registered graphs")]
    private static partial void LogStarted(ILogger logger, int graphCount);

    [LoggerMessage(2, LogLevel.Information, "Dataflow engine stopping: waiting for {RunsInFlight} runs in flight until the shutdown timeout")]
    private static partial void LogStopping(ILogger logger, int runsInFlight);

    [LoggerMessage(3, LogLevel.Information, "Dataflow engine stopped: {CancelledRuns} runs cancelled at the shutdown timeout, sinks drained")]
    private static partial void LogStopped(ILogger logger, int cancelledRuns);

    [LoggerMessage(4, LogLevel.Information, "Dataflow store '{Store}' closed: {Written} entries written, {Unwritten} unwritten")]
    private static partial void LogStoreClosed(ILogger logger, string store, long written, long unwritten);

    [LoggerMessage(6, LogLevel.Information, "Dataflow store '{Store}' closed")]
    private static partial void LogStoreClosedNoHealth(ILogger logger, string store);

    [LoggerMessage(5, LogLevel.Error, "Dataflow store '{Store}' could not be closed")]
    private static partial void LogStoreCloseFailed(ILogger logger, Exception exception, string store);
}

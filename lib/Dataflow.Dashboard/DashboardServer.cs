using System.Net;
using Dataflow.Dashboard.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Dataflow.Dashboard;

/// <summary>
/// The dashboard on its own Kestrel server, as <c>dataflow serve</c> runs it. Bound to a loopback address it also
/// refuses requests whose Host header is not a loopback name, so that no web page can reach it through DNS rebinding.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly DashboardApp _dashboard;
    private int _disposed;

    private DashboardServer(WebApplication app, DashboardApp dashboard, Uri address)
    {
        _app = app;
        _dashboard = dashboard;
        Address = address;
    }

    /// <summary>The address the server listens at, with the port it got (when port 0 was asked for).</summary>
    public Uri Address { get; }

    /// <summary>Starts serving.</summary>
    /// <param name="options">What to show; validated and copied here.</param>
    /// <param name="endpoint">Where to listen: <see cref="IPAddress.Loopback"/> unless the dashboard is meant to be reached from other machines; port 0 picks a free port.</param>
    /// <param name="cancellationToken">Stops waiting for the server to start.</param>
    /// <returns>The running server; dispose it to stop.</returns>
    /// <exception cref="ArgumentException">An option is invalid (every problem named).</exception>
    /// <exception cref="IOException">The address cannot be bound, for example because the port is in use.</exception>
    public static async Task<DashboardServer> StartAsync(DashboardOptions options, IPEndPoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endpoint);
        var dashboard = new DashboardApp(options, string.Empty, loopbackHostsOnly: IPAddress.IsLoopback(endpoint.Address));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, ApplicationName = typeof(DashboardServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestLineSize = 8 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Listen(endpoint);
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        dashboard.Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            dashboard.Dispose();
            throw;
        }

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel started without an address.");
        return new DashboardServer(app, dashboard, new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).TrimEnd('/') + "/"));
    }

    /// <summary>Stops the server: open event streams end, requests in progress get a few seconds to finish.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _dashboard.Dispose();
    }
}

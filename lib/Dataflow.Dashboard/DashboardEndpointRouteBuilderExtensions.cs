using Dataflow.Dashboard.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Dataflow.Dashboard;

/// <summary>Hosts the dashboard in an ASP.NET Core application.</summary>
public static class DashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the dashboard's pages under <paramref name="prefix"/>, such as <c>/dataflow</c>. The pages only read the
    /// store, except that a gate of <see cref="DashboardOptions.Live"/> can be answered. They carry no authentication
    /// of their own: add the application's (<c>.RequireAuthorization(…)</c> on the returned builder) before exposing
    /// them beyond the local machine. The store is opened read-only by the first request that finds it and released
    /// when the application stops.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="prefix">The path the pages live under; must start with <c>/</c>.</param>
    /// <param name="options">What to show; validated and copied here.</param>
    /// <returns>The group of the dashboard's endpoints, for conventions such as authorization.</returns>
    /// <exception cref="ArgumentException">The prefix does not start with <c>/</c>, or an option is invalid (every problem named).</exception>
    public static IEndpointConventionBuilder MapDataflowDashboard(this IEndpointRouteBuilder endpoints, string prefix, DashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(options);
        if (!prefix.StartsWith('/'))
        {
            throw new ArgumentException($"The dashboard's prefix must start with '/', was '{prefix}'.", nameof(prefix));
        }

        var app = new DashboardApp(options, prefix, loopbackHostsOnly: false);

        // The store stays open (read-only) while the application runs, and is released when it stops.
        endpoints.ServiceProvider.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(app.Dispose);
        var group = endpoints.MapGroup(prefix.TrimEnd('/'));
        app.Map(group);
        return group;
    }
}

using System.Net;
using Dataflow.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Dataflow.Dashboard.Tests;

/// <summary>The dashboard in a user's own ASP.NET Core application, as the README shows it.</summary>
[TestFixture]
public sealed class HostingTests
{
    [Test]
    public async Task MapDataflowDashboard_ServesThePagesUnderItsPrefix_AsTheReadmeShows()
    {
        var folder = Directory.CreateTempSubdirectory("dataflow-dashboard-hosting-").FullName;
        try
        {
            var db = Path.Combine(folder, "dataflow.db");
            var store = new SessionStore(db);
            await store.RecordAsync("GRAPH", "graph", "output", "g1 started: hello");
            await store.DisposeAsync();

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Services.AddAuthorization();
            await using var app = builder.Build();
            app.UseAuthorization();
            app.MapDataflowDashboard("/dataflow", new DashboardOptions { StorePath = db }).AllowAnonymous();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var page = await http.GetStringAsync("/dataflow/");
            using var css = await http.GetAsync("/dataflow/assets/dashboard.css");
            await app.StopAsync();

            var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "README.md"));
            using (Assert.EnterMultipleScope())
            {
                Assert.That(page, Does.Contain("href=\"/dataflow/sessions/"), "links carry the prefix");
                Assert.That(page, Does.Contain("href=\"/dataflow/assets/dashboard.css\""));
                Assert.That(css.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(readme, Does.Contain("app.MapDataflowDashboard(\"/dataflow\", new DashboardOptions { StorePath = \"dataflow.db\" })"));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void Options_AreCheckedWhenMapped_EveryProblemNamed()
    {
        var app = WebApplication.CreateSlimBuilder().Build();
        var error = Assert.Throws<ArgumentException>(() => app.MapDataflowDashboard("/d", new DashboardOptions { StorePath = " ", PageSize = 0 }));
        Assert.That(error!.Message, Does.Contain("StorePath must name the session store file").And.Contain("PageSize must be from 1 to 1000, was 0"));
        Assert.Throws<ArgumentException>(() => app.MapDataflowDashboard("dataflow", new DashboardOptions()));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Dataflow.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Dataflow.sln not found above " + AppContext.BaseDirectory);
    }
}

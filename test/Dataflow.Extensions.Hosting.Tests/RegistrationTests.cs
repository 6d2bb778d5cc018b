using Dataflow.Engine;
using Dataflow.Graphs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;

namespace Dataflow.Extensions.Hosting.Tests;

[TestFixture]
public sealed class RegistrationTests
{
    [Test]
    public async Task AddDataflow_BindsConfiguration_AndCodeWins()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Dataflow:HistoryCapacity"] = "2",
                ["Dataflow:MaxIterations"] = "1000",
                ["Dataflow:TrackMemory"] = "false",
            })
            .Build();
        services.AddDataflow(configuration.GetSection("Dataflow"), options => options.MaxIterations = 3).AddGraph<Loop>();
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<GraphEngine>();
        var graph = provider.GetRequiredService<GraphCatalog>().Get<Loop>();

        var runs = new List<GraphRun>();
        for (var i = 0; i < 4; i++)
        {
            runs.Add(engine.Submit(graph, new Loop(i == 0 ? 10 : 2)));
        }

        await Task.WhenAll(runs.Select(r => r.Completion)).WaitAsync(TestHosts.Guard);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs[0].State, Is.EqualTo(RunState.Failed), "MaxIterations 3 from code, not 1000 from configuration");
            Assert.That(runs[0].Error, Does.Contain("3"));
            Assert.That(runs.Skip(1).Select(r => r.State), Is.All.EqualTo(RunState.Done));
            Assert.That(engine.History(), Has.Count.EqualTo(2), "HistoryCapacity 2 from configuration");
            Assert.That(runs[1].RssDeltaBytes, Is.Zero, "TrackMemory false from configuration");
        }
    }

    [Test]
    public async Task AddDataflow_UnknownConfigurationKey_FailsNamingTheKey()
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Dataflow:HistoryCapcity"] = "5" })
            .Build();
        services.AddDataflow(configuration.GetSection("Dataflow"));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<GraphEngine>());
        Assert.That(error!.Message, Does.Contain("HistoryCapcity"));
    }

    [Test]
    public void HostStart_WithInvalidOptions_FailsListingEveryProblem()
    {
        using var host = TestHosts.Build(b => b.Services.AddDataflow(o =>
        {
            o.HistoryCapacity = -1;
            o.MaxIterations = -2;
        }));

        var error = Assert.ThrowsAsync<ArgumentException>(() => host.StartAsync());
        Assert.That(error!.Message, Does.Contain("HistoryCapacity is -1").And.Contain("MaxIterations is -2"));
    }

    [Test]
    public void HostStart_WithAGraphRegisteredTwice_FailsNamingTheStartType()
    {
        using var host = TestHosts.Build(b => b.Services.AddDataflow().AddGraph<Stepped>().AddGraph<Stepped>());

        var error = Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.That(error!.Message, Does.Contain("'Stepped' is registered twice"));
    }

    [Test]
    public async Task AddGraph_GraphByStartType_FromCatalogAndAsKeyedService()
    {
        var services = new ServiceCollection();
        var signal = new HoldSignal();
        services.AddSingleton(signal);
        services.AddDataflow().AddGraph<Hold>(g => g.MaxRunsInFlight = 1).AddGraph<Step>();
        await using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<GraphCatalog>();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(catalog.Get<Hold>().Start, Is.EqualTo(typeof(Hold)));
            Assert.That(provider.GetRequiredKeyedService<Graph>(typeof(Step)), Is.SameAs(catalog.Get<Step>()));
            Assert.That(catalog.Graphs, Has.Count.EqualTo(2));
            Assert.That(catalog.TryGet(typeof(Loop), out _), Is.False);
            var missing = Assert.Throws<InvalidOperationException>(() => catalog.Get<Loop>());
            Assert.That(missing!.Message, Does.Contain("No graph starts at 'Loop'").And.Contain("AddGraph<Loop>()"));
        }

        // The graph's options were applied: one run in flight at most.
        var engine = provider.GetRequiredService<GraphEngine>();
        var holding = engine.Submit(catalog.Get<Hold>(), new Hold(1));
        Assert.Throws<RunRejectedException>(() => engine.Submit(catalog.Get<Hold>(), new Hold(2)));
        signal.Release();
        await holding.Completion.WaitAsync(TestHosts.Guard);
        Assert.That(holding.State, Is.EqualTo(RunState.Done));
    }

    [Test]
    public async Task RunServices_ScopedServiceIsOneInstancePerRun_DisposedWhenTheRunEnds()
    {
        var services = new ServiceCollection();
        services.AddScoped<RunScoped>();
        services.AddDataflow().AddGraph<ScopedStart>();
        await using var provider = services.BuildServiceProvider();
        var engine = provider.GetRequiredService<GraphEngine>();
        var graph = provider.GetRequiredService<GraphCatalog>().Get<ScopedStart>();

        var first = engine.Submit(graph, new ScopedStart("a"));
        var second = engine.Submit(graph, new ScopedStart("b"));
        await Task.WhenAll(first.Completion, second.Completion).WaitAsync(TestHosts.Guard);
        var a = first.GetResult<ScopedSeen>();
        var b = second.GetResult<ScopedSeen>();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(a.Second, Is.SameAs(a.First), "one instance for every node of a run");
            Assert.That(b.Second, Is.SameAs(b.First));
            Assert.That(b.First, Is.Not.SameAs(a.First), "another instance for another run");
            Assert.That(a.First.IsDisposed && b.First.IsDisposed, Is.True, "disposed when the run ended, before its completion");
        }
    }
}

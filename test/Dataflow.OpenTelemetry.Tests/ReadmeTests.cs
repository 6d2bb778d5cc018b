using System.Diagnostics;
using System.Reflection;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Extensions.Hosting;
using Dataflow.Graphs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Dataflow.OpenTelemetry.Tests;

public sealed record Fetch(string Url) : INode<Fetched>
{
    public ValueTask<Fetched> RunAsync(NodeContext context) => ValueTask.FromResult(new Fetched(Url.Length));
}

public sealed record Fetched(int Length) : INode;

// The README's hosted setup and OpenTelemetry line, run as written, and checked to be still written so.
[TestFixture]
[NonParallelizable]
public sealed class ReadmeTests
{
    private const string HostedSetup = """
        builder.Services.AddDataflow(builder.Configuration.GetSection("Dataflow"))
            .AddGraph<Fetch>(graph => graph.MaxRunsInFlight = 100)
            .AddLoggerSink(OutputPolicy.Normal);
        """;

    private const string OpenTelemetrySetup = """
        builder.Services.AddOpenTelemetry().WithTracing(t => t.AddDataflowInstrumentation()).WithMetrics(m => m.AddDataflowInstrumentation());
        """;

    [Test]
    public void Readme_ShowsTheHostedAndOpenTelemetrySetupsAsTested()
    {
        var readme = File.ReadAllText(typeof(ReadmeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ReadmePath").Value!);
        Assert.That(readme.ReplaceLineEndings("\n"), Does.Contain(HostedSetup.ReplaceLineEndings("\n")).And.Contain(OpenTelemetrySetup));
    }

    [Test]
    public async Task HostedSetup_WithOpenTelemetry_RunsAGraphAndTracesIt()
    {
        var spans = new List<Activity>();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Dataflow:HistoryCapacity"] = "7" });

        // As in the README:
        builder.Services.AddDataflow(builder.Configuration.GetSection("Dataflow"))
            .AddGraph<Fetch>(graph => graph.MaxRunsInFlight = 100)
            .AddLoggerSink(OutputPolicy.Normal);
        builder.Services.AddOpenTelemetry().WithTracing(t => t.AddDataflowInstrumentation()).WithMetrics(m => m.AddDataflowInstrumentation());

        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans));
        using var host = builder.Build();
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<GraphEngine>();
        var run = await engine.SubmitAsync(host.Services.GetRequiredService<GraphCatalog>().Get<Fetch>(), new Fetch("https://example.org"));
        await run.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        await host.StopAsync();
        host.Services.GetRequiredService<TracerProvider>().ForceFlush();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.GetResult<Fetched>().Length, Is.EqualTo(19));
            Assert.That(spans.Where(s => Equals(s.GetTagItem("dataflow.run_id"), run.Id)).Select(s => s.OperationName), Does.Contain("dataflow.run").And.Contain("dataflow.node"));
        }
    }
}

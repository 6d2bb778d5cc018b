using System.Collections.Concurrent;
using Dataflow.Engine;
using Dataflow.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using NUnit.Framework;

namespace Dataflow.Extensions.Hosting.Tests;

[TestFixture]
public sealed class HostedEngineTests
{
    [Test]
    public async Task Stop_LetsRunsInFlightFinishWithinTheShutdownTimeout()
    {
        var signal = new HoldSignal();
        var events = new RecordingSink();

        // The runs can only finish once the hosted engine has begun to stop: it must wait for them, not cancel them.
        var logs = new CapturingLoggerProvider
        {
            OnRecord = r =>
            {
                if (r.Category == "Dataflow.Hosting" && r.EventId.Id == 2)
                {
                    signal.Release();
                }
            },
        };
        using var host = TestHosts.Build(
            b =>
        {
            b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TestHosts.Guard);
            b.Services.AddSingleton(signal);
            b.Services.AddDataflow().AddGraph<Hold>().AddSink(_ => events, new SinkOptions { Policy = OutputPolicy.Normal });
        },
            logs);
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<GraphEngine>();
        var runs = Enumerable.Range(0, 5).Select(i => engine.Submit(host.Services.GetRequiredService<GraphCatalog>().Get<Hold>(), new Hold(i))).ToList();
        await host.StopAsync().WaitAsync(TestHosts.Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Done));
            Assert.That(events.Kinds(EventKind.Complete), Is.EqualTo(5), "the sink was drained before the stop returned");
            Assert.Throws<ObjectDisposedException>(() => engine.Submit(host.Services.GetRequiredService<GraphCatalog>().Get<Hold>(), new Hold(9)));
        }
    }

    [Test]
    public async Task Stop_CancelsRunsStillInFlightAtTheShutdownTimeout_AndDrainsTheSinks()
    {
        var events = new RecordingSink();
        using var host = TestHosts.Build(b =>
        {
            b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200));
            b.Services.AddSingleton(new HoldSignal());   // never released
            b.Services.AddDataflow(o => o.CancelRunsOnDispose = false).AddGraph<Hold>().AddSink(_ => events, new SinkOptions { Policy = OutputPolicy.Normal });
        });
        await host.StartAsync();
        var engine = host.Services.GetRequiredService<GraphEngine>();
        var graph = host.Services.GetRequiredService<GraphCatalog>().Get<Hold>();
        var runs = Enumerable.Range(0, 3).Select(i => engine.Submit(graph, new Hold(i))).ToList();

        await host.StopAsync().WaitAsync(TestHosts.Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs.Select(r => r.State), Is.All.EqualTo(RunState.Cancelled), "even with CancelRunsOnDispose off, the timeout cancels");
            Assert.That(runs.Select(r => r.Completion.IsCompleted), Is.All.True);
            Assert.That(events.Kinds(EventKind.Cancel), Is.EqualTo(3), "every cancel event reached the sink before the stop returned");
        }
    }

    [Test]
    public async Task HealthCheck_ReportsRunsInFlight_FailingSinks_AndShutdown()
    {
        var signal = new HoldSignal();
        using var host = TestHosts.Build(b =>
        {
            b.Services.AddSingleton(signal);
            b.Services.AddDataflow().AddGraph<Hold>().AddSink(_ => new ThrowingSink(), new SinkOptions { Name = "broken", Policy = OutputPolicy.Quiet });
            b.Services.AddHealthChecks().AddDataflow();
        });
        await host.StartAsync();
        var health = host.Services.GetRequiredService<HealthCheckService>();
        var engine = host.Services.GetRequiredService<GraphEngine>();
        var graph = host.Services.GetRequiredService<GraphCatalog>().Get<Hold>();

        var held = engine.Submit(graph, new Hold(1));
        var healthy = (await health.CheckHealthAsync()).Entries["dataflow"];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(healthy.Status, Is.EqualTo(HealthStatus.Healthy));
            Assert.That(healthy.Data["runs_in_flight"], Is.EqualTo(1));
            Assert.That(healthy.Description, Is.EqualTo("1 runs in flight."));
        }

        // A cancelled run emits a cancel event, which the Quiet sink takes and throws on.
        held.Cancel();
        await held.Completion.WaitAsync(TestHosts.Guard);
        await engine.Events.FlushAsync().WaitAsync(TestHosts.Guard);
        var degraded = (await health.CheckHealthAsync()).Entries["dataflow"];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(degraded.Status, Is.EqualTo(HealthStatus.Degraded));
            Assert.That(degraded.Description, Does.Contain("'broken' (1 failures)"));
            Assert.That(degraded.Data["failing_sinks"], Is.EqualTo(new[] { "broken" }));
        }

        var stopping = host.StopAsync();
        await stopping.WaitAsync(TestHosts.Guard);
        var stopped = (await health.CheckHealthAsync()).Entries["dataflow"];
        Assert.That(stopped.Status, Is.EqualTo(HealthStatus.Unhealthy));
        Assert.That(stopped.Description, Does.Contain("stopping"));
    }

    private sealed class RecordingSink : IEventSink
    {
        private readonly ConcurrentQueue<GraphEvent> _events = new();

        public int Kinds(EventKind kind) => _events.Count(e => e.Kind == kind);

        public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
        {
            _events.Enqueue(graphEvent);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ThrowingSink : IEventSink
    {
        public ValueTask WriteAsync(GraphEvent graphEvent, CancellationToken cancellationToken)
            => throw new InvalidOperationException("this sink always fails");
    }
}

using Dataflow;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using NUnit.Framework;

namespace Dataflow.Tests.Events;

[TestFixture]
public sealed class EventHubTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private static GraphEvent Event(string runId, long sequence, EventKind kind = EventKind.Transition)
        => new(runId, kind, $"{runId} #{sequence}", DateTimeOffset.UnixEpoch, sequence);

    [Test]
    public void PolicyTable_AdmitsEachKindAsDocumented()
    {
        var expected = new Dictionary<EventKind, OutputPolicy>
        {
            [EventKind.Start] = OutputPolicy.Normal,
            [EventKind.Transition] = OutputPolicy.Verbose,
            [EventKind.Complete] = OutputPolicy.Normal,
            [EventKind.Fail] = OutputPolicy.Quiet,
            [EventKind.Cancel] = OutputPolicy.Quiet,
            [EventKind.Gate] = OutputPolicy.Quiet,
            [EventKind.Error] = OutputPolicy.Quiet,
            [EventKind.Retry] = OutputPolicy.Normal,
        };

        using (Assert.EnterMultipleScope())
        {
            foreach (var kind in Enum.GetValues<EventKind>())
            {
                foreach (var policy in Enum.GetValues<OutputPolicy>())
                {
                    var admitted = policy != OutputPolicy.Silent && policy >= expected[kind];
                    Assert.That(policy.Admits(kind), Is.EqualTo(admitted), $"{policy} / {kind}");
                }
            }
        }
    }

    [Test]
    public async Task SlowSink_HundredThousandEvents_EveryOneArrivesInPerRunOrder()
    {
        const int runs = 100;
        const int perRun = 1_000;
        var hub = new EventHub();
        var slow = new SlowSink(pauseEvery: 5_000);
        var fast = new CollectingSink();
        var slowRegistration = hub.AddSink(slow, new SinkOptions { Capacity = 64 });
        hub.AddSink(fast);

        // Producers publish concurrently, each run's events in order, as runs do.
        await Task.WhenAll(Enumerable.Range(0, runs).Select(r => Task.Run(async () =>
        {
            for (var s = 1; s <= perRun; s++)
            {
                await hub.PublishAsync(Event($"g{r}", s));
            }
        }))).WaitAsync(Guard);
        await hub.DisposeAsync().AsTask().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(slow.Count, Is.EqualTo(runs * perRun));
            Assert.That(slow.OutOfOrder, Is.Zero);
            Assert.That(fast.Events, Has.Count.EqualTo(runs * perRun));
            Assert.That(slowRegistration.Delivered, Is.EqualTo(runs * perRun));
            Assert.That(slowRegistration.Dropped, Is.Zero);
            Assert.That(hub.Published, Is.EqualTo(runs * perRun));
        }
    }

    [Test]
    public async Task FullLosslessSink_SlowsTheProducer_AndMemoryStaysBounded()
    {
        var hub = new EventHub();
        var gate = new GateSink();
        var registration = hub.AddSink(gate, new SinkOptions { Capacity = 10 });

        // The sink holds the first event; with it, ten events fill the sink's room; the next publish must wait.
        for (var i = 1; i <= 10; i++)
        {
            await hub.PublishAsync(Event("g1", i)).AsTask().WaitAsync(Guard);
        }

        await gate.FirstReceived.WaitAsync(Guard);
        var blocked = hub.PublishAsync(Event("g1", 11)).AsTask();

        Assert.That(blocked.IsCompleted, Is.False, "the producer waits for room");
        Assert.That(registration.QueueDepth, Is.EqualTo(10));
        gate.Release();
        await blocked.WaitAsync(Guard);
        await hub.DisposeAsync().AsTask().WaitAsync(Guard);
        Assert.That(gate.Count, Is.EqualTo(11));
    }

    [Test]
    public async Task LossySink_KeepsNewest_CountsDrops_AndNeverSlowsProducers()
    {
        var hub = new EventHub();
        var gate = new GateSink();
        var registration = hub.AddSink(gate, new SinkOptions { Capacity = 5, Lossy = true });

        await hub.PublishAsync(Event("g1", 1));
        await gate.FirstReceived.WaitAsync(Guard);
        for (var i = 2; i <= 100; i++)
        {
            var publish = hub.PublishAsync(Event("g1", i));
            Assert.That(publish.IsCompleted, Is.True, "a lossy sink never makes a producer wait");
            await publish;
        }

        // Once the intake has moved everything into the lossy buffer, 99 - 5 were dropped.
        await registration.WhenIdleAsync().WaitAsync(Guard);

        gate.Release();
        await hub.DisposeAsync().AsTask().WaitAsync(Guard);

        Assert.That(registration.Dropped, Is.EqualTo(94));
        Assert.That(gate.Count, Is.EqualTo(6), "the held event and the newest five");
    }

    [Test]
    public async Task PerSinkFilter_AppliesOnTopOfThePublishedStream()
    {
        var hub = new EventHub();
        var quiet = new CollectingSink();
        var verbose = new CollectingSink();
        var silent = new CollectingSink();
        hub.AddSink(quiet, new SinkOptions { Policy = OutputPolicy.Quiet });
        hub.AddSink(verbose, new SinkOptions { Policy = OutputPolicy.Verbose });
        hub.AddSink(silent, new SinkOptions { Policy = OutputPolicy.Silent });

        var seq = 0;
        foreach (var kind in Enum.GetValues<EventKind>())
        {
            await hub.PublishAsync(Event("g1", ++seq, kind));
        }

        await hub.DisposeAsync();

        Assert.That(verbose.Events.Select(e => e.Kind), Is.EqualTo(Enum.GetValues<EventKind>()));
        Assert.That(quiet.Events.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Fail, EventKind.Cancel, EventKind.Gate, EventKind.Error }));
        Assert.That(silent.Events, Is.Empty);
    }

    [Test]
    public async Task ThrowingSink_IsIsolated_CountedAndReported()
    {
        var hub = new EventHub();
        var healthy = new CollectingSink();
        var broken = hub.AddSink(new ThrowingSink(EventKind.Start), new SinkOptions { Name = "broken" });
        hub.AddSink(healthy, new SinkOptions { Name = "healthy" });

        await hub.PublishAsync(Event("g1", 1, EventKind.Start));
        await hub.PublishAsync(Event("g1", 2, EventKind.Complete));
        await hub.DisposeAsync();

        Assert.That(broken.Failures, Is.EqualTo(1));
        Assert.That(broken.Delivered, Is.EqualTo(1), "it still received the next event");
        Assert.That(hub.SinkFailures, Is.EqualTo(1));
        var kinds = healthy.Events.Select(e => e.Kind).ToList();
        Assert.That(kinds.Count(k => k == EventKind.Start), Is.EqualTo(1));
        Assert.That(kinds.Count(k => k == EventKind.Complete), Is.EqualTo(1));
        var error = healthy.Events.Single(e => e.Kind == EventKind.Error);
        Assert.That(error.Content, Is.EqualTo("sink 'broken' failed on g1 #1: IOException: disk full"));
        Assert.That(error.Metadata["sink"], Is.EqualTo("broken"));
    }

    [Test]
    public async Task Sinks_CanBeAddedAndRemovedWhileEventsFlow()
    {
        var hub = new EventHub();
        var steady = new CollectingSink();
        hub.AddSink(steady);
        var late = new CollectingSink();
        SinkRegistration? lateRegistration = null;
        var early = new CollectingSink();
        var earlyRegistration = hub.AddSink(early);
        long publishedBeforeRemoval = 0;

        for (var i = 1; i <= 2_000; i++)
        {
            if (i == 500)
            {
                lateRegistration = hub.AddSink(late);
            }

            if (i == 1_500)
            {
                publishedBeforeRemoval = i - 1;
                await earlyRegistration.DisposeAsync().AsTask().WaitAsync(Guard);
            }

            await hub.PublishAsync(Event("g1", i));
        }

        await hub.DisposeAsync();

        Assert.That(steady.Events, Has.Count.EqualTo(2_000));
        Assert.That(early.Events.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(1, (int)publishedBeforeRemoval).Select(i => (long)i)), "removal drains what was published before it");
        Assert.That(late.Events.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(500, 1_501).Select(i => (long)i)), "a new sink gets what is published after it was added, in order");
        Assert.That(hub.Sinks, Has.Count.EqualTo(2));
        Assert.That(lateRegistration!.Delivered, Is.EqualTo(1_501));
    }

    [Test]
    public async Task ReadAllAsync_StreamsAdmittedEvents_UntilCancelled()
    {
        var hub = new EventHub();
        using var cts = new CancellationTokenSource();
        var reader = hub.ReadAllAsync(OutputPolicy.Quiet, cancellationToken: cts.Token).GetAsyncEnumerator();

        // The first MoveNextAsync subscribes before it first waits, so nothing published after it is missed.
        var first = reader.MoveNextAsync();
        Assert.That(hub.Sinks, Has.Count.EqualTo(1));
        await hub.PublishAsync(Event("g1", 1, EventKind.Start));
        await hub.PublishAsync(Event("g1", 2, EventKind.Fail));
        await hub.PublishAsync(Event("g2", 1, EventKind.Cancel));

        Assert.That(await first.AsTask().WaitAsync(Guard), Is.True);
        var received = new List<GraphEvent> { reader.Current };
        Assert.That(await reader.MoveNextAsync().AsTask().WaitAsync(Guard), Is.True);
        received.Add(reader.Current);
        await cts.CancelAsync();

        Assert.That(async () => await reader.MoveNextAsync().AsTask().WaitAsync(Guard), Throws.InstanceOf<OperationCanceledException>());
        await reader.DisposeAsync();
        Assert.That(received.Select(e => e.Kind), Is.EqualTo(new[] { EventKind.Fail, EventKind.Cancel }));
        Assert.That(hub.Sinks, Is.Empty, "the reader detached");
        await hub.DisposeAsync();
    }

    [Test]
    public async Task DisposeAsync_DrainsEverySink_ThenRefusesEvents()
    {
        var hub = new EventHub();
        var slow = new SlowSink(pauseEvery: 100);
        hub.AddSink(slow, new SinkOptions { Capacity = 10_000 });
        for (var i = 1; i <= 5_000; i++)
        {
            await hub.PublishAsync(Event("g1", i));
        }

        await hub.DisposeAsync().AsTask().WaitAsync(Guard);

        Assert.That(slow.Count, Is.EqualTo(5_000));
        Assert.That(async () => await hub.PublishAsync(Event("g1", 5_001)), Throws.InstanceOf<ObjectDisposedException>());
        Assert.Throws<ObjectDisposedException>(() => hub.AddSink(new CollectingSink()));
    }
}

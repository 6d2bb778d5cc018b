using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Events.Channels;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Storage;
using NUnit.Framework;

namespace Dataflow.Tests.Events;

/// <summary>Records entries in memory, as a store would.</summary>
public sealed class MemoryStore : IEntryStore
{
    private readonly List<(string Mode, string Channel, string Direction, string Content)> _entries = [];

    public IReadOnlyList<(string Mode, string Channel, string Direction, string Content)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ValueTask RecordAsync(StoreRecord entry, CancellationToken cancellationToken = default)
    {
        lock (_entries)
        {
            _entries.Add((entry.Mode, entry.Channel, entry.Direction, entry.Content));
        }

        return default;
    }
}

[TestFixture]
public sealed class ChannelRouterTests
{
    [Test]
    public async Task VisibleChannel_RendersWithPrefix_BuffersAndRecords()
    {
        var output = new StringWriter();
        var store = new MemoryStore();
        await using var router = new ChannelRouter(output);
        var graph = router.Register("graph", new OutputChannelOptions { Store = store });

        await router.WriteAsync("graph", "g1 started");
        await router.WriteAsync("graph", "waiting", label: "g1");

        Assert.That(output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[] { "[graph] g1 started", "[graph:g1] waiting" }));
        Assert.That(graph.Buffer.Select(e => e.Content), Is.EqualTo(new[] { "g1 started", "waiting" }));
        Assert.That(store.Entries, Is.EqualTo(new[] { ("GRAPH", "graph", "output", "g1 started"), ("GRAPH", "graph", "output", "waiting") }));
    }

    [Test]
    public async Task HiddenChannel_BuffersAndRecordsButDoesNotRender()
    {
        var output = new StringWriter();
        var store = new MemoryStore();
        await using var router = new ChannelRouter(output);
        var hidden = router.Register("graph", new OutputChannelOptions { Visible = false, Store = store });

        await hidden.WriteAsync("quiet");

        Assert.That(output.ToString(), Is.Empty);
        Assert.That(hidden.Buffer, Has.Count.EqualTo(1));
        Assert.That(store.Entries, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Buffer_KeepsTheMostRecentEntries()
    {
        await using var router = new ChannelRouter();
        var channel = router.Register("graph", new OutputChannelOptions { Capacity = 3 });

        for (var i = 1; i <= 10; i++)
        {
            await channel.WriteAsync($"entry {i}");
        }

        Assert.That(channel.Buffer.Select(e => e.Content), Is.EqualTo(new[] { "entry 8", "entry 9", "entry 10" }));
        Assert.That(channel.Written, Is.EqualTo(10));
    }

    [Test]
    public async Task CustomFormatter_RendersEachEntry()
    {
        var output = new StringWriter();
        await using var router = new ChannelRouter(output);
        router.Register("graph", new OutputChannelOptions { Formatter = e => $"<{e.Channel}> {e.Content.ToUpperInvariant()}" });

        await router.WriteAsync("graph", "hello");

        Assert.That(output.ToString().TrimEnd(), Is.EqualTo("<graph> HELLO"));
    }

    [Test]
    public async Task UnknownChannel_IsCountedAndReportedOnDebug_WithoutThrowing()
    {
        await using var router = new ChannelRouter();
        var debug = router.Register(ChannelRouter.DebugChannel, new OutputChannelOptions { Visible = false });

        var written = await router.WriteAsync("nowhere", "lost?");

        Assert.That(written, Is.False);
        Assert.That(router.UnknownChannelWrites, Is.EqualTo(1));
        Assert.That(debug.Buffer.Single().Content, Is.EqualTo("write to unknown channel 'nowhere': lost?"));
    }

    [Test]
    public async Task DebugLog_RecordsEveryWriteWithTimeAndChannel()
    {
        var folder = Path.Combine(Path.GetTempPath(), "dataflow-tests", Guid.NewGuid().ToString("N"));
        var path = Path.Combine(folder, "debug.log");
        try
        {
            await using (var router = new ChannelRouter(debugLogPath: path))
            {
                router.Register("graph", new OutputChannelOptions { Visible = false });
                await router.WriteAsync("graph", "g1 started");
                await router.WriteAsync("missing", "x");
            }

            var lines = await File.ReadAllLinesAsync(path);
            Assert.That(lines, Has.Length.EqualTo(2));
            Assert.That(lines[0], Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[graph\] g1 started$"));
            Assert.That(lines[1], Does.EndWith("[debug:router] write to unknown channel 'missing': x"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public async Task AttachedChannel_ReceivesEventsFilteredByItsSinkPolicy()
    {
        await using var router = new ChannelRouter();
        var quiet = router.Register("console", new OutputChannelOptions { Visible = false });
        var verbose = router.Register("graph", new OutputChannelOptions { Visible = false });
        var engine = new GraphEngine();
        router.Attach(engine.Events, "console", new SinkOptions { Policy = OutputPolicy.Quiet });
        router.Attach(engine.Events, "graph");

        var ok = engine.Submit(Graph.Create<StressStart>(), new StressStart(1), new RunOptions { Policy = OutputPolicy.Verbose });
        var bad = engine.Submit(Graph.Create<Boom>(), new Boom("bad"), new RunOptions { Policy = OutputPolicy.Verbose });
        await Task.WhenAll(ok.Completion, bad.Completion);
        await engine.DisposeAsync();

        Assert.That(quiet.Buffer.Select(e => e.Content), Is.EqualTo(new[] { "g2 failed: InvalidOperationException: bad" }));
        Assert.That(verbose.Buffer, Has.Count.EqualTo(6), "start, two transitions, complete; start, fail");
        Assert.That(verbose.Buffer.Select(e => e.Metadata!["type"]), Has.All.EqualTo("lifecycle"));
    }

    [Test]
    public async Task Register_TwiceWithOneName_Throws()
    {
        await using var router = new ChannelRouter();
        router.Register("graph");

        var e = Assert.Throws<ArgumentException>(() => router.Register("graph"));

        Assert.That(e!.Message, Does.StartWith("A channel named 'graph' is already registered."));
    }
}

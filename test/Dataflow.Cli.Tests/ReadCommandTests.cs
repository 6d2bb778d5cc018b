using System.Text.Json;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Tests;

public sealed class ReadCommandTests : CliTestBase
{
    [SetUp]
    public async Task RunTheSample()
    {
        var result = await RunCliAsync("run", "--count", "30", "--db", Database);
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
    }

    [Test]
    public async Task Search_PlainText_FindsTheFailedOrder()
    {
        var result = await RunCliAsync("search", "quantity must be positive", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Output, Does.Contain("order 25"));
        }
    }

    [Test]
    public async Task Search_Json_ReturnsEntriesWithMetadata()
    {
        var result = await RunCliAsync("search", "started", "--json", "--limit", "100", "--db", Database);

        using var document = JsonDocument.Parse(result.Output);
        var entries = document.RootElement.EnumerateArray().ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entries, Has.Length.EqualTo(30));
            Assert.That(entries.Select(e => e.GetProperty("metadata").GetProperty("event").GetString()), Is.All.EqualTo("start"));
        }
    }

    [Test]
    public async Task Search_InvalidFtsSyntax_ExitsTwo()
    {
        var result = await RunCliAsync("search", "\"unbalanced", "--fts", "--db", Database);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains("invalid search"));
    }

    [Test]
    public async Task Search_BadSince_ExitsTwo()
    {
        var result = await RunCliAsync("search", "started", "--since", "yesterdayish", "--db", Database);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains("--since 'yesterdayish'"));
    }

    [Test]
    public async Task Search_SinceAge_FiltersByTime()
    {
        var recent = await RunCliAsync("search", "started", "--since", "1h", "--json", "--db", Database);
        var none = await RunCliAsync("search", "started", "--until", "1h", "--json", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(JsonDocument.Parse(recent.Output).RootElement.GetArrayLength(), Is.EqualTo(20), recent.ToString());
            Assert.That(JsonDocument.Parse(none.Output).RootElement.GetArrayLength(), Is.Zero, none.ToString());
        }
    }

    [Test]
    public async Task Show_Run_PrintsItsEventsInOrder()
    {
        var result = await RunCliAsync("show", "g1", "--json", "--db", Database);

        using var document = JsonDocument.Parse(result.Output);
        var events = document.RootElement.EnumerateArray().Select(e => e.GetProperty("metadata").GetProperty("event").GetString()).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(events[0], Is.EqualTo("start"));
            Assert.That(events[^1], Is.EqualTo("complete"));
            Assert.That(events, Has.Some.EqualTo("transition"));
        }
    }

    [Test]
    public async Task Show_PicksTheLatestSessionUnlessTold()
    {
        await RunCliAsync("run", "--count", "1", "--db", Database);
        var sessions = JsonDocument.Parse((await RunCliAsync("sessions", "--json", "--db", Database)).Output).RootElement
            .EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToArray();

        var latest = await RunCliAsync("show", "g1", "--json", "--db", Database);
        var first = await RunCliAsync("show", "g1", "--json", "--session", sessions[0], "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(sessions, Has.Length.EqualTo(2));
            Assert.That(JsonDocument.Parse(latest.Output).RootElement[0].GetProperty("sessionId").GetString(), Is.EqualTo(sessions[1]));
            Assert.That(JsonDocument.Parse(first.Output).RootElement[0].GetProperty("sessionId").GetString(), Is.EqualTo(sessions[0]));
        }
    }

    [Test]
    public async Task Show_UnknownRun_ExitsTwo()
    {
        var result = await RunCliAsync("show", "g999", "--db", Database);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains("g999"));
    }

    [Test]
    public async Task Recent_ShowsTheNewestEntries()
    {
        var result = await RunCliAsync("recent", "-n", "5", "--json", "--db", Database);

        Assert.That(JsonDocument.Parse(result.Output).RootElement.GetArrayLength(), Is.EqualTo(5), result.ToString());
    }

    [Test]
    public async Task ReadCommands_AddNoSession()
    {
        await RunCliAsync("recent", "--db", Database);
        await RunCliAsync("search", "started", "--db", Database);
        await RunCliAsync("show", "g1", "--db", Database);

        var result = await RunCliAsync("sessions", "--json", "--db", Database);

        var sessions = JsonDocument.Parse(result.Output).RootElement.EnumerateArray().ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(sessions, Has.Length.EqualTo(1), result.Output);
            Assert.That(sessions[0].GetProperty("metadata").GetProperty("command").GetString(), Is.EqualTo("run"));
        }
    }

    [Test]
    public async Task ReadCommand_MissingDatabase_ExitsTwoWithoutCreatingIt()
    {
        var missing = Path.Combine(Directory, "missing.db");

        var result = await RunCliAsync("recent", "--db", missing);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2));
            Assert.That(result.Error, Does.Contain("no database at").And.Contain("missing.db"));
            Assert.That(File.Exists(missing), Is.False);
        }
    }

    [Test]
    public async Task ReadCommand_UnreadableDatabase_ExitsTwo()
    {
        var path = WriteFile("garbage.db", new string('x', 4096));

        var result = await RunCliAsync("search", "x", "--db", path);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains("is not a Dataflow session store"));
    }
}

[TestFixture]
public sealed class SearchFindsWhatUsersLookForTests : CliTestBase
{
    [Test]
    public async Task SearchForAnOrderNumber_FindsTheRunEvenWhenItSucceeded_AndShowListsWhatItDid()
    {
        var run = await RunCliAsync("run", "--count", "40", "--db", Database, "--progress-interval", "1");
        Assert.That(run.ExitCode, Is.AnyOf(0, 1), run.ToString());
        var stored = await StoredEventsAsync();
        var done = stored.First(e => e.Event == "complete").RunId;

        // The start event carries the start node (the order), so the order's id finds its run whatever it did.
        var start = await RunCliAsync("search", $"{done} started", "--event", "start", "--json", "--db", Database);
        var startEntry = System.Text.Json.JsonDocument.Parse(start.Output).RootElement[0];
        var content = startEntry.GetProperty("content").GetString()!;
        Assert.That(content, Does.StartWith($"{done} started: Order {{ Id = "));
        var orderId = content.Split("Id = ")[1].Split(',')[0];

        var found = await RunCliAsync("search", orderId, "--event", "start", "--json", "--db", Database);
        var runs = System.Text.Json.JsonDocument.Parse(found.Output).RootElement.EnumerateArray().Select(e => e.GetProperty("runId").GetString()).ToList();
        Assert.That(runs, Does.Contain(done), found.ToString());
    }

    [Test]
    public async Task SearchByEventKindAndRun_FiltersOnTheIndexedColumns()
    {
        await RunCliAsync("run", "--count", "20", "--db", Database, "--progress-interval", "1");

        var transitions = await RunCliAsync("search", "g1", "--event", "transition", "--run", "g1", "--json", "--db", Database);
        var entries = System.Text.Json.JsonDocument.Parse(transitions.Output).RootElement.EnumerateArray().ToList();
        Assert.That(entries, Is.Not.Empty, transitions.ToString());
        Assert.That(entries.Select(e => e.GetProperty("event").GetString()), Is.All.EqualTo("transition"));
        Assert.That(entries.Select(e => e.GetProperty("runId").GetString()), Is.All.EqualTo("g1"));
        Assert.That(entries.Select(e => e.GetProperty("content").GetString()), Is.All.Contains("->"));
    }

    [Test]
    public async Task Recent_WithMoreRowsThanOneTable_PrintsEveryRow()
    {
        await RunCliAsync("run", "--count", "400", "--db", Database, "--progress-interval", "1");
        var stored = await StoredEventsAsync();

        var all = await RunCliAsync("recent", "-n", "1000000", "--db", Database);
        var json = await RunCliAsync("recent", "-n", "1000000", "--json", "--db", Database);

        Assert.That(stored, Has.Count.GreaterThan(1000), "enough rows for more than one table");
        Assert.That(all.ExitCode, Is.Zero, all.ToString());
        Assert.That(System.Text.Json.JsonDocument.Parse(json.Output).RootElement.GetArrayLength(), Is.EqualTo(stored.Count));
        var ids = stored.Select(e => e.RunId).Distinct().ToList();
        Assert.That(ids, Is.All.Matches<string>(id => all.Output.Contains($" {id} ", StringComparison.Ordinal)), "every run appears in the tables");
    }
}

using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Tests;

public sealed class RunCommandTests : CliTestBase
{
    [Test]
    public async Task Run_OnSample_StoresEveryRunWithOneFinalEvent()
    {
        var result = await RunCliAsync("run", "--count", "60", "--db", Database);

        // Orders 25 and 50 have quantity 0, and order 55 is a large order of a flagged customer: they fail on purpose.
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        var events = await StoredEventsAsync();
        var runs = events.GroupBy(e => e.RunId).ToDictionary(g => g.Key, g => g.Select(e => e.Event).ToList());
        using (Assert.EnterMultipleScope())
        {
            Assert.That(runs, Has.Count.EqualTo(60));
            Assert.That(runs.Values.Select(r => r.Count(e => e is "complete" or "fail" or "cancel")), Is.All.EqualTo(1));
            Assert.That(runs.Values.Select(r => r[0]), Is.All.EqualTo("start"));
            Assert.That(runs.Values.Count(r => r[^1] == "fail"), Is.EqualTo(3));
            Assert.That(result.Output, Does.Contain("Summary").And.Contain($"events written: {events.Count} "));
            Assert.That(result.Output, Does.Contain("p50").And.Contain("slowest node types").And.Contain("latency histogram"));
            Assert.That(result.Output, Does.Contain("dependency timings").And.Contain("CustomerTierLookup"), "the sample's [Dep] input is computed and timed by the engine");
            Assert.That(result.Error, Does.Contain("exit code 1: 3 runs failed"));
        }
    }

    [Test]
    public async Task Run_WithNormalPolicy_StoresStartAndFinalEventsOnly()
    {
        var result = await RunCliAsync("run", "--count", "20", "--policy", "normal", "--db", Database);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        var events = await StoredEventsAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(events, Has.Count.EqualTo(40));
            Assert.That(result.Output, Does.Contain("events written: 40 "));
        }
    }

    [Test]
    public async Task Run_WhenOutputRedirected_WritesNoControlCodes()
    {
        var result = await RunCliAsync("run", "--count", "30", "--progress-interval", "0.05", "--db", Database);

        Assert.That(result.Output + result.Error, Has.None.Matches<char>(c => char.IsControl(c) && c is not '\n' and not '\r'), result.ToString());
    }

    [Test]
    public async Task Run_UserAssembly_RunsEachJsonlLineAndReportsBadLinesByNumber()
    {
        var input = WriteFile("people.jsonl", """{"name":"ada"}""", """{"name": oops}""", string.Empty, """{"Name":"grace"}""", "null", """{"name":"linus"}""");

        var result = await RunCliAsync("run", "--assembly", typeof(Greeting).Assembly.Location, "--start", "Greeting", "--input", input, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Error, Does.Contain("people.jsonl:2: malformed JSON"));
            Assert.That(result.Error, Does.Contain("people.jsonl:5: expected a Greeting object, got null"));
            Assert.That(result.Error, Does.Contain("2 input lines were rejected"));
            Assert.That((await StoredEventsAsync()).Select(e => e.RunId).Distinct().Count(), Is.EqualTo(3));
        }
    }

    [Test]
    public async Task Run_UserAssemblyWithFailingRun_ExitsOne()
    {
        var input = WriteFile("people.jsonl", """{"name":"ada"}""", """{"name":"boom"}""");

        var result = await RunCliAsync("run", "-a", typeof(Greeting).Assembly.Location, "-s", "Dataflow.Cli.Tests.Greeting", "-i", input, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Output, Does.Contain("asked to fail"));
            Assert.That(result.Error, Does.Contain("1 runs failed"));
        }
    }

    [Test]
    public async Task Run_MissingInputFile_ExitsTwoNamingTheFile()
    {
        var result = await RunCliAsync("run", "--input", Path.Combine(Directory, "nope.jsonl"), "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.Contain("error: input file not found").And.Contain("nope.jsonl"));
        }
    }

    [Test]
    public async Task Run_UnknownNodeType_ExitsTwoListingTheKnownOnes()
    {
        var input = WriteFile("people.jsonl", """{"name":"ada"}""");

        var result = await RunCliAsync("run", "--assembly", typeof(Greeting).Assembly.Location, "--start", "Nope", "--input", input, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.Contain("unknown node type 'Nope'").And.Contain("Greeting"));
        }
    }

    [Test]
    public async Task Run_MissingAssembly_ExitsTwo()
    {
        var result = await RunCliAsync("run", "--assembly", Path.Combine(Directory, "Missing.dll"), "--start", "X", "--input", "x", "--db", Database);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains("assembly not found"));
    }

    [Test]
    public async Task Run_BadAssembly_ExitsTwo()
    {
        var path = WriteFile("NotAnAssembly.dll", "this is text");

        var result = await RunCliAsync("run", "--assembly", path, "--start", "X", "--input", "x", "--db", Database);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains("bad assembly"));
    }

    [Test]
    public async Task Run_UnreadableDatabase_ExitsTwoNamingTheDatabase()
    {
        var path = WriteFile("garbage.db", new string('x', 4096));

        var result = await RunCliAsync("run", "--count", "5", "--db", path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.Contain("is not a Dataflow session store").And.Contain("garbage.db"));
        }
    }

    [TestCase("--parallelism", "0", "--parallelism must be positive")]
    [TestCase("--max-in-flight", "0", "--max-in-flight must be positive")]
    [TestCase("--parallelism", "lots", "lots")]
    [TestCase("--policy", "loud", "loud")]
    public async Task Run_BadOption_ExitsTwo(string option, string value, string message)
    {
        var result = await RunCliAsync("run", option, value, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.Contain(message));
        }
    }

    [Test]
    public async Task UnknownCommand_ExitsTwo()
    {
        var result = await RunCliAsync("frobnicate");

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains("frobnicate"));
    }

    [Test]
    public async Task Graph_OnSample_PrintsMermaidWithTheChoice()
    {
        var result = await RunCliAsync("graph");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Output, Does.StartWith("graph TD").And.Contain("Priced --> Express").And.Contain("Priced --> Review").And.Contain("Priced --> Standard"));
        }
    }

    [Test]
    public async Task Graph_OnUserAssembly_PrintsItsEdges()
    {
        var result = await RunCliAsync("graph", "--assembly", typeof(Greeting).Assembly.Location, "--start", "Greeting");

        Assert.That(result.Output, Does.Contain("Greeting --> Greeted"), result.ToString());
    }
}

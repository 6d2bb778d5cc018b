namespace Dataflow.Cli.Tests;

public sealed class DurableCommandTests : CliTestBase
{
    [Test]
    public async Task DurableRun_ThenResumeRerunAndShow_WorkOnTheSameStore()
    {
        var run = await RunCliAsync("run", "--durable", "--count", "40", "--db", Database);
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        Assert.That(run.Output, Does.Contain("durable: 0 runs resumed, 0 finished earlier, 0 rerun"));
        var failed = (await StoredEventsAsync()).Where(e => e.Event == "fail").Select(e => e.RunId).ToList();
        Assert.That(failed, Is.Not.Empty);
        Assert.That(failed, Is.All.Match("^d[0-9a-z]+-[0-9]+$"));

        var resume = await RunCliAsync("resume", "--db", Database);
        var rerun = await RunCliAsync("rerun", "--failed", "--db", Database);
        var show = await RunCliAsync("show", failed[0], "--db", Database);
        var noFlag = await RunCliAsync("rerun", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(resume.ExitCode, Is.Zero, resume.ToString());
            Assert.That(resume.Output, Does.Contain("durable: 0 runs resumed, 40 finished earlier, 0 rerun"));
            Assert.That(rerun.ExitCode, Is.EqualTo(1), "the sample's failures fail again: " + rerun);
            Assert.That(rerun.Output, Does.Contain($"{failed.Count} rerun"));
            Assert.That(show.ExitCode, Is.Zero, show.ToString());
            Assert.That(show.Output, Does.Contain($"checkpoints of run {failed[0]}").And.Contain("Failed"));
            Assert.That(noFlag.ExitCode, Is.EqualTo(2));
            Assert.That(noFlag.Error, Does.Contain("--failed"));
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task DurableRun_OnSigterm_StopsItsRunsResumably_AndResumeFinishesThem(CancellationToken cancellationToken)
    {
        using var cli = CliProcess.Start(Directory, "run", "--durable", "--count", "1000000", "--progress-interval", "0.1", "--db", Database);
        await cli.LineAsync(line => line.StartsWith("progress:", StringComparison.Ordinal) && !line.StartsWith("progress: 0 done", StringComparison.Ordinal))
            .WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);

        await cli.SignalAsync("TERM", cancellationToken);
        var exit = await cli.ExitAsync(cancellationToken);
        var stopped = System.Text.RegularExpressions.Regex.Match(cli.Error, @"interrupted: (\d+) runs stopped; they stay resumable");
        var resume = await RunCliAsync("resume", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exit, Is.EqualTo(143), cli.ToString());
            Assert.That(stopped.Success, Is.True, cli.ToString());
            Assert.That(resume.Output, Does.Contain($"durable: {stopped.Groups[1].Value} runs resumed, "), "every run stopped by the signal is resumed, no other: " + resume);
            Assert.That(resume.ExitCode, Is.AnyOf(0, 1), resume.ToString());
        }
    }

    [Test]
    public async Task Show_OfADurableParent_ListsItsChildren_AndShowsAChildById()
    {
        var input = Path.Combine(Directory, "crates.jsonl");
        await File.WriteAllTextAsync(input, "{\"Bottles\":3}\n");
        var run = await RunCliAsync("run", "--durable", "--assembly", typeof(Crate).Assembly.Location, "--start", "Crate", "--input", input, "--db", Database);
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var parent = (await StoredEventsAsync()).Select(e => e.RunId).First(id => id is not null && !id.Contains('/', StringComparison.Ordinal));

        var show = await RunCliAsync("show", parent!, "--db", Database);
        var child = await RunCliAsync("show", $"{parent}/2", "--db", Database);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(show.ExitCode, Is.Zero, show.ToString());
            Assert.That(show.Output, Does.Contain($"children of run {parent} at step 0 (3)").And.Contain($"{parent}/1").And.Contain($"{parent}/3").And.Contain("AwaitingChildren"));
            Assert.That(child.ExitCode, Is.Zero, child.ToString());
            Assert.That(child.Output, Does.Contain($"checkpoints of run {parent}/2").And.Contain("Filled"));
        }
    }
}

using Dataflow.Engine;
using Dataflow.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace Dataflow.Extensions.Hosting.Tests;

[TestFixture]
public sealed class LoggerSinkTests
{
    [Test]
    public async Task LoggerSink_NormalPolicy_LogsStartAndCompleteAsStructuredRecords_NoTransitions()
    {
        var (records, run) = await RunOnceAsync(OutputPolicy.Normal, fail: false);

        Assert.That(records.Select(r => r.EventId.Name), Is.EqualTo(new[] { "RunStarted", "RunDone" }));
        var done = records[1];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(done.Level, Is.EqualTo(LogLevel.Information));
            Assert.That(done.Properties["RunId"], Is.EqualTo(run.Id));
            Assert.That(done.Properties["Kind"], Is.EqualTo("complete"));
            Assert.That(done.Properties["Node"], Is.EqualTo("Stepped"));
            Assert.That(done.Properties["DurationMs"], Is.TypeOf<double>().And.GreaterThanOrEqualTo(0));
            Assert.That(done.Properties["{OriginalFormat}"], Is.EqualTo("Run {RunId} done at {Node} in {DurationMs} ms"));
            Assert.That(done.Message, Does.Match($@"^Run {run.Id} done at Stepped in \d+\.\d ms$"));
        }
    }

    [Test]
    public async Task LoggerSink_VerbosePolicy_LogsTransitionsWithBothNodes()
    {
        var (records, run) = await RunOnceAsync(OutputPolicy.Verbose, fail: false);

        var transition = records.Single(r => r.EventId.Name == "RunTransition");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(transition.Level, Is.EqualTo(LogLevel.Debug));
            Assert.That(transition.Properties["Node"], Is.EqualTo("Step"));
            Assert.That(transition.Properties["NextNode"], Is.EqualTo("Stepped"));
            Assert.That(transition.Message, Is.EqualTo($"Run {run.Id} moved from Step to Stepped"));
        }
    }

    [Test]
    public async Task LoggerSink_QuietPolicy_LogsOnlyTheFailure_AtErrorLevel_WithTheError()
    {
        var (records, run) = await RunOnceAsync(OutputPolicy.Quiet, fail: true);

        var failed = records.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(failed.EventId.Name, Is.EqualTo("RunFailed"));
            Assert.That(failed.Level, Is.EqualTo(LogLevel.Error));
            Assert.That(failed.Properties["Error"], Does.Contain("step failed on purpose"));
            Assert.That(failed.Properties["Node"], Is.EqualTo("Step"));
            Assert.That(run.State, Is.EqualTo(RunState.Failed));
        }
    }

    private static async Task<(IReadOnlyList<LogRecord> Records, GraphRun Run)> RunOnceAsync(OutputPolicy sinkPolicy, bool fail)
    {
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        services.AddDataflow().AddGraph<Step>().AddLoggerSink(sinkPolicy);
        GraphRun run;
        await using (var provider = services.BuildServiceProvider())
        {
            var engine = provider.GetRequiredService<GraphEngine>();
            run = engine.Submit(provider.GetRequiredService<GraphCatalog>().Get<Step>(), new Step(fail), new RunOptions { Policy = OutputPolicy.Verbose });
            await run.Completion.WaitAsync(TestHosts.Guard);
            await engine.Events.FlushAsync().WaitAsync(TestHosts.Guard);
        }

        return ([.. logs.Records.Where(r => r.Category == "Dataflow.Runs")], run);
    }
}

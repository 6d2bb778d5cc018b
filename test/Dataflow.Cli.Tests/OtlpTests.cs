using System.Diagnostics;

namespace Dataflow.Cli.Tests;

/// <summary>
/// <c>run --otlp</c> against a collector on loopback: traces and metrics arrive as OTLP/HTTP protobuf POSTs, all of
/// them by the time the command returns; a bad endpoint is a usage error; an unreachable or silent collector costs a
/// warning and never the batch.
/// </summary>
// The ActivitySource and the Meter are process-wide: the CLI runs of other fixtures would show up in these exports.
[NonParallelizable]
public sealed class OtlpTests : CliTestBase
{
    private const string Protobuf = "application/x-protobuf";

    [Test]
    public async Task Run_WithOtlp_ExportsTheBatchsTracesAndMetrics_BeforeItReturns()
    {
        await using var collector = new OtlpCollector();

        var result = await RunCliAsync("run", "--count", "20", "--db", Database, "--otlp", collector.Endpoint);

        var requests = collector.Requests;
        var traces = requests.Where(r => r.Path == "/v1/traces").ToList();
        var metrics = requests.Where(r => r.Path == "/v1/metrics").ToList();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Error, Does.Not.Contain("warning"), result.ToString());
            Assert.That(requests.Select(r => r.Path), Is.All.AnyOf("/v1/traces", "/v1/metrics"));
            Assert.That(requests.Select(r => r.Method), Is.All.EqualTo("POST"));
            Assert.That(requests.Select(r => r.ContentType), Is.All.EqualTo(Protobuf));
            Assert.That(traces, Is.Not.Empty);
            Assert.That(metrics, Is.Not.Empty);
            Assert.That(requests.Select(r => r.Body.Length), Is.All.GreaterThan(0));
            Assert.That(traces.Any(t => t.Holds("dataflow.run")) && traces.Any(t => t.Holds("dataflow.node")) && traces.Any(t => t.Holds("dataflow.dependency")), "run, node and dependency spans");
            Assert.That(traces.Count(t => t.Holds("g20")), Is.GreaterThan(0), "the last run's spans were exported before the command returned");
            Assert.That(metrics.Any(m => m.Holds("dataflow.runs.completed") && m.Holds("dataflow.node.duration") && m.Holds("dataflow.node.executions")), "the final metrics");
            Assert.That(requests.All(r => r.Holds("service.name") && r.Holds("dataflow")), "the resource names the service");
            Assert.That(result.Output, Does.Contain("Summary"));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Run_WithOtlp_AsAProcess_ExportsEverythingBeforeItExits(CancellationToken cancellationToken)
    {
        await using var collector = new OtlpCollector();

        using var cli = CliProcess.Start(Directory, "run", "--count", "30", "--db", Database, "--otlp", collector.Endpoint + "/");
        var exit = await cli.ExitAsync(cancellationToken);

        var requests = collector.Requests;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(exit, Is.EqualTo(1), "the sample fails order 25 on purpose: the exit code is the batch's, with or without --otlp\n" + cli);
            Assert.That(requests.Where(r => r.Path == "/v1/traces").Any(r => r.Holds("g30")), Is.True, "the last run's spans\n" + cli);
            Assert.That(requests.Where(r => r.Path == "/v1/metrics").Any(r => r.Holds("dataflow.runs.failed")), Is.True, "the final metrics\n" + cli);
            Assert.That(requests.Select(r => r.ContentType), Is.All.EqualTo(Protobuf));
        }
    }

    [TestCase("localhost:4318")]
    [TestCase("/v1/traces")]
    [TestCase("ftp://collector:4318")]
    [TestCase("grpc://collector:4317")]
    [TestCase("not a url")]
    [TestCase("")]
    [TestCase("http://")]
    public async Task Run_WithABadOtlpEndpoint_ExitsTwoNamingTheOptionAndTheValue(string endpoint)
    {
        var result = await RunCliAsync("run", "--count", "1", "--db", Database, "--otlp", endpoint);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.StartWith($"error: --otlp '{endpoint}' is not an absolute http:// or https:// URI"));
            Assert.That(File.Exists(Database), Is.False, "nothing is written before the options are valid");
        }
    }

    [TestCase("0")]
    [TestCase("0.01")]
    [TestCase("61")]
    [TestCase("NaN")]
    public async Task Run_WithAnOtlpTimeoutOutOfRange_ExitsTwo(string timeout)
    {
        var result = await RunCliAsync("run", "--count", "1", "--db", Database, "--otlp", "http://127.0.0.1:4318", "--otlp-timeout", timeout);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Error, Does.Contain("--otlp-timeout must be from 0.1 to 60 seconds, was "));
    }

    [Test]
    public async Task Run_WithAnUnreachableCollector_FinishesTheBatch_AndWarns()
    {
        var refused = $"http://127.0.0.1:{OtlpCollector.FreePort()}";
        var clock = Stopwatch.StartNew();

        var result = await RunCliAsync("run", "--count", "30", "--db", Database, "--otlp", refused);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), "the batch's own exit code (order 25 fails on purpose)\n" + result);
            Assert.That(result.Output, Does.Contain("Summary"));
            Assert.That(result.Error, Does.Contain($"warning: --otlp '{refused}/': the batch's telemetry was not fully exported (").And.Contain("trace exports failed").And.Contain("metric exports failed"));
            Assert.That(result.Error, Does.Contain("The batch's result and exit code are unaffected."));
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "a refused connection fails at once");
        }

        Assert.That((await StoredEventsAsync()).Select(e => e.RunId).Distinct().Count(), Is.EqualTo(30), "the store has every run");
    }

    [Test]
    public async Task Run_WithACollectorThatNeverAnswers_GivesUpAtTheTimeout_AndWarns()
    {
        await using var silent = new SilentEndpoint();
        var clock = Stopwatch.StartNew();

        var result = await RunCliAsync("run", "--count", "20", "--db", Database, "--otlp", silent.Endpoint, "--otlp-timeout", "0.5");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Output, Does.Contain("Summary"));
            Assert.That(result.Error, Does.Contain($"warning: --otlp '{silent.Endpoint}/': the batch's telemetry was not fully exported").And.Contain("did not answer within 0.5 s"));
            Assert.That(silent.Connections, Is.GreaterThan(0), "the exporter did connect");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(15)), "bounded by the timeout, not hung");
        }
    }
}

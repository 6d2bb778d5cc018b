namespace Dataflow.Cli.Tests;

/// <summary><c>dataflow serve</c> and <c>run --serve</c>: option checks, and the dashboard of a real store until a signal.</summary>
public sealed class ServeCommandTests : CliTestBase
{
    [TestCase("--port", "70000", "--port must be from 0 to 65535, was 70000.")]
    [TestCase("--port", "-1", "--port must be from 0 to 65535, was -1.")]
    [TestCase("--address", "example.org", "--address must be an IP address such as 127.0.0.1")]
    public async Task BadListenOptions_AreUsageErrors(string option, string value, string message)
    {
        await RunCliAsync("run", "--count", "1", "--db", Database);
        foreach (var command in new[] { new[] { "serve", "--db", Database }, ["run", "--serve", "--count", "1", "--db", Database] })
        {
            var result = await RunCliAsync([.. command, option, value]);
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.Contain(message), result.ToString());
        }
    }

    [Test]
    public async Task Serve_WithoutAStore_SaysSo_AndCreatesNone()
    {
        var result = await RunCliAsync("serve", "--db", Database, "--port", "0");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Error, Does.Contain("no database at"));
        Assert.That(File.Exists(Database), Is.False);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Serve_AnswersPages_WarnsAboutAPublicAddress_AndStopsOnSigterm(CancellationToken cancellationToken)
    {
        await RunCliAsync("run", "--count", "5", "--db", Database);
        using var cli = CliProcess.Start(Directory, "serve", "--db", Database, "--port", "0", "--address", "0.0.0.0");
        await cli.LineAsync(line => line.StartsWith("dashboard: ", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        var url = cli.Output.Split('\n').First(l => l.StartsWith("dashboard: ", StringComparison.Ordinal))["dashboard: ".Length..].Trim();

        using var http = new HttpClient();
        var page = await http.GetStringAsync(url.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal), cancellationToken);
        await cli.SignalAsync("TERM", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await cli.ExitAsync(cancellationToken), Is.EqualTo(0), cli.ToString());
            Assert.That(page, Does.Contain("sample (Order)"));
            Assert.That(cli.Error, Does.Contain("warning: the dashboard listens at 0.0.0.0, not at loopback"));
            Assert.That(cli.Error, Does.Contain("stopping the dashboard"));
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Serve_ReportsAPageItFailedToAnswer_OnStderr(CancellationToken cancellationToken)
    {
        await RunCliAsync("run", "--count", "5", "--db", Database);
        using var cli = CliProcess.Start(Directory, "serve", "--db", Database, "--port", "0");
        await cli.LineAsync(line => line.StartsWith("dashboard: ", StringComparison.Ordinal)).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        var url = cli.Output.Split('\n').First(l => l.StartsWith("dashboard: ", StringComparison.Ordinal))["dashboard: ".Length..].Trim();

        // The store was checked before the server listened; it stops being a store before the first page opens it.
        await File.WriteAllTextAsync(Database, "no longer an SQLite database\n", cancellationToken);
        using var http = new HttpClient();
        using var response = await http.GetAsync(url + "sessions/s1", cancellationToken);
        var logged = cli.LineAsync(line => line.StartsWith("error: dashboard: ", StringComparison.Ordinal));
        await logged.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        await cli.SignalAsync("TERM", cancellationToken);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.ServiceUnavailable));
            Assert.That(await response.Content.ReadAsStringAsync(cancellationToken), Does.Contain("The store cannot be read"));
            Assert.That(cli.Error, Does.Contain("error: dashboard: The dashboard failed on GET /sessions/s1: NotAStoreException: "), cli.ToString());
            Assert.That(await cli.ExitAsync(cancellationToken), Is.EqualTo(0), cli.ToString());
        }
    }
}

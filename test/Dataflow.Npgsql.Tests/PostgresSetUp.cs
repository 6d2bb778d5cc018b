using Dataflow.Testing;

namespace Dataflow.Npgsql.Tests;

/// <summary>One throwaway PostgreSQL server for the whole test assembly; each fixture creates its own database in it.
/// If the server cannot start, every test fails with the reason (never skipped).</summary>
[SetUpFixture]
public sealed class PostgresSetUp
{
    private static PostgresServer? _server;

    internal static PostgresServer Server => _server ?? throw new InvalidOperationException("The PostgreSQL server was not started.");

    [OneTimeSetUp]
    public async Task StartServerAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        _server = await PostgresServer.StartAsync(durable: false, timeout.Token);
    }

    [OneTimeTearDown]
    public async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

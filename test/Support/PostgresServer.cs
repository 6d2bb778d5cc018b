using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Npgsql;

namespace Dataflow.Testing;

/// <summary>
/// A throwaway PostgreSQL server for tests and the bench: <c>initdb</c> into a new temp directory, <c>pg_ctl start</c>
/// listening only on a unix socket in that directory (no TCP port to collide with), one database per caller, then
/// <c>pg_ctl stop</c> and the directory deleted on dispose. PostgreSQL refuses to run as root, so under root the server
/// runs as the <c>postgres</c> OS user (<c>runuser</c>) and the directory is given to it. Shared as a source file by
/// the Npgsql tests and the bench.
/// </summary>
/// <remarks>Binaries: <c>DATAFLOW_PG_BIN</c> when set, else <c>/usr/lib/postgresql/15/bin</c> (what <c>.ci/run</c> installs).
/// Failing to start throws with the reason and the server's log, so tests fail (never skip) on a machine without PostgreSQL.</remarks>
internal sealed class PostgresServer : IAsyncDisposable
{
    private const int Port = 5432;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private readonly string _bin;
    private readonly string _root;
    private readonly string? _runAs;
    private int _databases;

    private PostgresServer(string bin, string root, string? runAs)
    {
        _bin = bin;
        _root = root;
        _runAs = runAs;
    }

    /// <summary>Where the server keeps its data, socket and log.</summary>
    public string Directory => _root;

    /// <summary>The server's data directory (its <c>postmaster.pid</c> names the server's process).</summary>
    public string DataDirectory => Path.Combine(_root, "data");

    private string LogFile => Path.Combine(_root, "server.log");

    /// <summary>Keywords that reach the server's <c>postgres</c> database as its superuser.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <summary>Starts a new server. <paramref name="durable"/> keeps fsync on (the bench, to compare with SQLite's durable
    /// commits); tests turn it off, which loses nothing unless the machine itself crashes.</summary>
    /// <exception cref="InvalidOperationException">The server could not be started; the message says why.</exception>
    public static async Task<PostgresServer> StartAsync(bool durable = false, CancellationToken cancellationToken = default)
    {
        var bin = Environment.GetEnvironmentVariable("DATAFLOW_PG_BIN") is { Length: > 0 } configured ? configured : "/usr/lib/postgresql/15/bin";
        if (!File.Exists(Path.Combine(bin, "initdb")))
        {
            throw new InvalidOperationException(
                $"Cannot start a throwaway PostgreSQL server: no initdb in '{bin}'. Install PostgreSQL 15 (apt-get install postgresql-15; .ci/run does) or set DATAFLOW_PG_BIN to its bin directory.");
        }

        var runAs = IsRoot() ? "postgres" : null;

        // The postgres user must reach the directory, so under root it lives in /tmp rather than a private TMPDIR.
        var parent = runAs is null ? Path.GetTempPath() : "/tmp";
        var root = Path.Combine(parent, "dataflow-pg-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(root);
        var server = new PostgresServer(bin, root, runAs);
        try
        {
            if (runAs is not null)
            {
                await RunAsync("chown", ["-R", $"{runAs}:", root], cancellationToken).ConfigureAwait(false);
            }

            await server.RunToolAsync("initdb", ["-D", server.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"], cancellationToken).ConfigureAwait(false);
            var settings = $"-k {root} -c listen_addresses='' -p {Port} -c max_connections=200 -c shared_buffers=64MB" +
                (durable ? string.Empty : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
            await server.RunToolAsync("pg_ctl", ["-D", server.DataDirectory, "-l", server.LogFile, "-s", "-w", "-t", "60", "-o", settings, "start"], cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch (Exception ex)
        {
            var log = File.Exists(server.LogFile) ? await File.ReadAllTextAsync(server.LogFile, cancellationToken).ConfigureAwait(false) : "(no server log)";
            await server.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"Cannot start a throwaway PostgreSQL server in '{root}': {ex.Message}\nServer log:\n{log}", ex);
        }
    }

    /// <summary>Keywords for one database of this server, over its unix socket.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = _root,
        Port = Port,
        Username = "postgres",
        Database = database,
        Pooling = true,
    }.ConnectionString;

    /// <summary>Creates a new, empty database and returns keywords that reach it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}");
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return ConnectionString(name);
    }

    /// <summary>Stops the server at once and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                await RunToolAsync("pg_ctl", ["-D", DataDirectory, "-s", "-w", "-m", "immediate", "stop"], CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            try
            {
                System.IO.Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp directory.
            }
        }
    }

    private static bool IsRoot() => OperatingSystem.IsLinux() && geteuid() == 0;

    [DllImport("libc", SetLastError = true)]
    private static extern uint geteuid();

    private Task RunToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_bin, tool);
        return _runAs is null
            ? RunAsync(path, arguments, cancellationToken)
            : RunAsync("runuser", ["-u", _runAs, "--", path, .. arguments], cancellationToken);
    }

    /// <summary>Runs a program to its end; its output goes to a file (pg_ctl's server inherits no pipe of ours).</summary>
    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var outputFile = Path.GetTempFileName();
        try
        {
            var start = new ProcessStartInfo("sh") { UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec \"$@\" >\"$0\" 2>&1");
            start.ArgumentList.Add(outputFile);
            start.ArgumentList.Add(program);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CommandTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"{program} did not finish within {CommandTimeout.TotalSeconds} s");
            }

            if (process.ExitCode != 0)
            {
                var output = await File.ReadAllTextAsync(outputFile, CancellationToken.None).ConfigureAwait(false);
                var command = new StringBuilder(program);
                foreach (var argument in arguments)
                {
                    command.Append(' ').Append(argument);
                }

                throw new InvalidOperationException($"'{command}' exited with {process.ExitCode}: {output.Trim()}");
            }
        }
        finally
        {
            File.Delete(outputFile);
        }
    }
}

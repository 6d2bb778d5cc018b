using System.Text.Json;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;

namespace Dataflow.Cli.Tests;

/// <summary>Runs the real command line in-process against a temp directory and database.</summary>
public abstract class CliTestBase
{
    protected string Directory { get; private set; } = string.Empty;

    protected string Database => Path.Combine(Directory, "test.db");

    [SetUp]
    public void CreateDirectory()
    {
        Directory = Path.Combine(Path.GetTempPath(), "dataflow-cli-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
    }

    [TearDown]
    public void DeleteDirectory()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold the database for a moment; the temp folder is cleaned by the OS.
        }
    }

    protected static async Task<CliResult> RunCliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var exit = await Cli.RunAsync(args, output, error, timeout.Token);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    /// <summary>Runs the command line in-process with <paramref name="standardInput"/> as the bytes that <c>--input -</c> reads.</summary>
    protected static async Task<CliResult> RunCliAsync(Func<Stream> standardInput, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var exit = await Cli.RunAsync(args, new CliConsole(output, error, isTerminal: false, standardInput), timeout.Token);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    protected string WriteFile(string name, params string[] lines)
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Every stored lifecycle event of the sessions that wrote any, as (run id, event kind) in store order.</summary>
    protected Task<List<(string SessionId, string RunId, string Event)>> StoredEventsAsync()
    {
        using var store = SessionHistory.Open(Database);
        var events = new List<(string, string, string)>();
        foreach (var session in store.Sessions().Where(s => s.EntryCount > 0))
        {
            foreach (var entry in store.SessionEntries(session.Id))
            {
                using var metadata = JsonDocument.Parse(entry.MetadataJson!);
                events.Add((session.Id, metadata.RootElement.GetProperty("run_id").GetString()!, metadata.RootElement.GetProperty("event").GetString()!));
            }
        }

        return Task.FromResult(events);
    }
}

public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

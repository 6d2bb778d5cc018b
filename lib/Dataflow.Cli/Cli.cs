using System.CommandLine;
using Dataflow.Cli.Commands;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli;

/// <summary>
/// The <c>dataflow</c> command line, callable in-process: parses, runs one command and returns its exit code.
/// Exit codes: 0 success; 1 a run failed or an input line was rejected; 2 a usage error or a problem with the
/// command's inputs (message on stderr); 130 interrupted.
/// </summary>
internal static class Cli
{
    /// <summary>The database that every command uses unless <c>--db</c> says otherwise.</summary>
    public const string DefaultDatabase = "dataflow.db";

    /// <summary>Runs the command line with stdout and stderr given as writers; output that is not a terminal is plain text.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
        => RunAsync(args, new CliConsole(output, error, isTerminal: false), cancellationToken);

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        var root = CreateRootCommand(console);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var parseError in parse.Errors)
            {
                console.WriteError(parseError.Message);
            }

            var name = parse.CommandResult.Command == root ? "dataflow" : "dataflow " + parse.CommandResult.Command.Name;
            await console.Error.WriteLineAsync($"Run '{name} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.UsageError;
        }

        try
        {
            return await parse.InvokeAsync(
                new InvocationConfiguration
                {
                    Output = console.Output,
                    Error = console.Error,
                    EnableDefaultExceptionHandler = false,

                    // Ctrl+C is the caller's: Program turns it into this token, tests cancel it directly.
                    ProcessTerminationTimeout = null,
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            console.WriteError(e.Message);
            return ExitCodes.UsageError;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("interrupted.").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
    }

    public static RootCommand CreateRootCommand(CliConsole console)
    {
        var root = new RootCommand(
            "Dataflow: run in-process pipelines over batches of inputs with live progress, then inspect and search their history in a SQLite store."
            + " Exit codes: 0 success, 1 a run failed or an input line was rejected, 2 usage or input error, 130 interrupted.")
        {
            RunCommand.Create(console),
            ReadCommands.Search(console),
            ReadCommands.Recent(console),
            ReadCommands.Sessions(console),
            ReadCommands.Show(console),
            GraphCommand.Create(console),
        };
        return root;
    }

    /// <summary>The <c>--db</c> option that every store-using command takes.</summary>
    public static Option<string> DatabaseOption() => new("--db")
    {
        Description = "The SQLite database file.",
        DefaultValueFactory = _ => DefaultDatabase,
        HelpName = "path",
    };
}

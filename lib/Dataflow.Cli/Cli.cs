using System.CommandLine;
using Dataflow.Cli.Commands;

namespace Dataflow.Cli;

/// <summary>
/// The <c>dataflow</c> command line, callable in-process: parses, runs one command and returns its exit code.
/// No exception escapes: every failure is a message on stderr and one of the documented exit codes:
/// 0 success; 1 a run failed or an input line was rejected; 2 a usage error or a problem with the command's
/// inputs; 70 an unexpected error (one line, the stack trace with <c>--verbose</c>); 130 interrupted (SIGINT);
/// 143 terminated (SIGTERM).
/// </summary>
internal static class Cli
{
    /// <summary>The database that every command uses unless <c>--db</c> says otherwise.</summary>
    public const string DefaultDatabase = "dataflow.db";

    /// <summary>Runs the command line with stdout and stderr given as writers; output that is not a terminal is plain text.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
        => RunAsync(args, new CliConsole(output, error, isTerminal: false), new Interruption(cancellationToken));

    public static Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
        => RunAsync(args, console, new Interruption(cancellationToken));

    public static async Task<int> RunAsync(string[] args, CliConsole console, Interruption interruption)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(interruption);
        try
        {
            return await ParseAndInvokeAsync(args, console, interruption).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            foreach (var problem in e.Problems)
            {
                console.WriteError(problem);
            }

            return ExitCodes.UsageError;
        }
        catch (OperationCanceledException) when (interruption.Token.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("interrupted.").ConfigureAwait(false);
            return interruption.ExitCode;
        }
        catch (Exception e)
        {
            // The CLI's outermost boundary: a bug or an environment failure nobody anticipated. One line, no trace
            // unless asked for, and a documented exit code, never an unhandled exception.
            ReportUnexpected(console, e);
            return ExitCodes.InternalError;
        }
    }

    public static RootCommand CreateRootCommand(CliConsole console, Interruption interruption)
    {
        var root = new RootCommand(
            "Dataflow: run in-process pipelines over batches of inputs with live progress, then inspect and search their history in a SQLite store."
            + " Exit codes: 0 success, 1 a run failed or an input line was rejected, 2 usage or input error,"
            + " 70 unexpected error (details with --verbose), 130 interrupted (SIGINT), 143 terminated (SIGTERM)."
            + " Text from the store or from inputs is printed with control characters escaped (\\n, \\t, \\x1b); --json output is exact.")
        {
            RunCommand.Create(console, interruption),
            RunCommand.CreateDurable(console, interruption, BatchMode.Resume),
            RunCommand.CreateDurable(console, interruption, BatchMode.RerunFailed),
            SubmitCommand.Create(console),
            WorkerCommand.Create(console, interruption),
            StatusCommand.Create(console),
            ReadCommands.Search(console),
            ReadCommands.Recent(console),
            ReadCommands.Sessions(console),
            ReadCommands.Show(console),
            GraphCommand.Create(console),
            ServeCommand.Create(console, interruption),
        };
        return root;
    }

    /// <summary>The global <c>--verbose</c> flag: stack traces of unexpected errors, and what a command is doing, on stderr.</summary>
    public static Option<bool> VerboseOption() => new("--verbose")
    {
        Description = "Print details on stderr: what the command is doing, and the stack trace of an unexpected error.",
        Recursive = true,
    };

    /// <summary>The <c>--db</c> option that every store-using command takes.</summary>
    public static Option<string> DatabaseOption() => new("--db")
    {
        Description = "The SQLite database file, or a PostgreSQL connection string (postgresql://user@host/db or Host=…;Database=…).",
        DefaultValueFactory = _ => DefaultDatabase,
        HelpName = "path|connection string",
    };

    private static async Task<int> ParseAndInvokeAsync(string[] args, CliConsole console, Interruption interruption)
    {
        var root = CreateRootCommand(console, interruption);
        var verbose = VerboseOption();
        root.Options.Add(verbose);
        // No response files: an argument that starts with '@' is taken as it is. System.CommandLine would otherwise read
        // it as a file of more arguments, and throw past its own errors when that path is a directory.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        console.Verbose = parse.GetValue(verbose);
        if (parse.Errors.Count > 0)
        {
            foreach (var parseError in parse.Errors)
            {
                console.WriteError(parseError.Message);
            }

            var name = parse.CommandResult.Command == root ? "dataflow" : "dataflow " + parse.CommandResult.Command.Name;
            await console.Error.WriteLineAsync($"Run '{TerminalText.Escape(name)} --help' for usage.").ConfigureAwait(false);
            return ExitCodes.UsageError;
        }

        return await parse.InvokeAsync(
            new InvocationConfiguration
            {
                Output = console.Output,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,

                // Signals are the caller's: Program turns them into the interruption, tests cancel its token directly.
                ProcessTerminationTimeout = null,
            },
            interruption.Token).ConfigureAwait(false);
    }

    private static void ReportUnexpected(CliConsole console, Exception exception)
    {
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        if (!console.Verbose)
        {
            console.Error.WriteLine($"dataflow: unexpected error: {inner.GetType().FullName}: {TerminalText.Escape(inner.Message)} (run with --verbose for details)");
            return;
        }

        console.Error.WriteLine("dataflow: unexpected error:");
        foreach (var line in exception.ToString().Split('\n'))
        {
            console.Error.WriteLine(TerminalText.Escape(line.TrimEnd('\r')));
        }
    }
}

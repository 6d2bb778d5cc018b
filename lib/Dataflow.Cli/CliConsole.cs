using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Spectre.Console;

namespace Dataflow.Cli;

/// <summary>
/// Where a command writes: stdout (through Spectre.Console) and stderr. When stdout is not a terminal, nothing
/// animates and no ANSI escape code is written: output is plain lines that files and pipes can keep.
/// </summary>
internal sealed class CliConsole
{
    public CliConsole(TextWriter output, TextWriter error, bool isTerminal)
    {
        Output = output;
        Error = error;
        IsTerminal = isTerminal;
        Ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isTerminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!isTerminal)
        {
            // A file has no width; keep tables readable without wrapping.
            Ansi.Profile.Width = 120;
        }
    }

    public TextWriter Output { get; }

    public TextWriter Error { get; }

    /// <summary>Whether stdout is an interactive terminal (live display, colours, block characters).</summary>
    public bool IsTerminal { get; }

    public IAnsiConsole Ansi { get; }

    /// <summary>Reports a problem on stderr as <c>error: message</c>.</summary>
    public void WriteError(string message) => Error.WriteLine("error: " + message);

    public void WriteWarning(string message) => Error.WriteLine("warning: " + message);
}

using Spectre.Console;

namespace Dataflow.Cli;

/// <summary>
/// Where a command writes: stdout (through Spectre.Console) and stderr, and where <c>--input -</c> reads. When
/// stdout is not a terminal, nothing animates and no ANSI escape code is written: output is plain lines that files
/// and pipes can keep. Messages on stderr have their control characters escaped (<see cref="TerminalText"/>).
/// </summary>
internal sealed class CliConsole
{
    private readonly Func<Stream> _openInput;

    public CliConsole(TextWriter output, TextWriter error, bool isTerminal, Func<Stream>? openInput = null)
    {
        Output = output;
        Error = error;
        IsTerminal = isTerminal;
        _openInput = openInput ?? Console.OpenStandardInput;
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

    /// <summary>Set from the global <c>--verbose</c> flag once the command line is parsed: stack traces and tracing lines on stderr.</summary>
    public bool Verbose { get; set; }

    public IAnsiConsole Ansi { get; }

    /// <summary>Standard input as bytes, for <c>--input -</c>.</summary>
    public Stream OpenInput() => _openInput();

    /// <summary>Reports a problem on stderr as <c>error: message</c>.</summary>
    public void WriteError(string message) => Error.WriteLine("error: " + TerminalText.Escape(message));

    public void WriteWarning(string message) => Error.WriteLine("warning: " + TerminalText.Escape(message));

    /// <summary>With <c>--verbose</c>: what the command is doing, on stderr as <c>dataflow: message</c>.</summary>
    public void Trace(string message)
    {
        if (Verbose)
        {
            Error.WriteLine("dataflow: " + TerminalText.Escape(message));
            Error.Flush();
        }
    }
}

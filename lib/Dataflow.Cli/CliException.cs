namespace Dataflow.Cli;

/// <summary>
/// A problem that stops a command before it can do its work (missing file, bad assembly, unknown node type,
/// unreadable database, invalid option value). Reported on stderr as <c>error: message</c>, one line per problem,
/// exit code 2.
/// </summary>
internal sealed class CliException : Exception
{
    public CliException(string message)
        : base(message)
    {
        Problems = [message];
    }

    public CliException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    /// <summary>Several problems found at once (option validation reports all that is wrong).</summary>
    public CliException(IReadOnlyList<string> problems)
        : base(string.Join(Environment.NewLine, problems))
    {
        Problems = problems;
    }

    /// <summary>Each problem, written as its own <c>error:</c> line.</summary>
    public IReadOnlyList<string> Problems { get; }
}

/// <summary>The documented exit codes (also in <c>dataflow --help</c> and the README).</summary>
internal static class ExitCodes
{
    /// <summary>Everything succeeded.</summary>
    public const int Success = 0;

    /// <summary><c>run</c>: at least one run failed, or at least one input line was rejected.</summary>
    public const int RunsFailed = 1;

    /// <summary>A usage error or a problem with the command's inputs (option value, file, assembly, node type, database).</summary>
    public const int UsageError = 2;

    /// <summary>
    /// An unexpected error: a bug in dataflow or its environment, reported in one line on stderr (the stack trace
    /// with <c>--verbose</c>). 70 is <c>EX_SOFTWARE</c> of BSD's sysexits.h, "internal software error".
    /// </summary>
    public const int InternalError = 70;

    /// <summary>Interrupted by Ctrl+C (SIGINT): 128 + 2, as shells report it.</summary>
    public const int Interrupted = 130;

    /// <summary>Terminated by SIGTERM: 128 + 15, as shells report it.</summary>
    public const int Terminated = 143;
}

using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli;

/// <summary>
/// A problem that stops a command before it can do its work (missing file, bad assembly, unknown node type,
/// unreadable database, invalid option value). Reported on stderr as <c>error: message</c>, exit code 2.
/// </summary>
internal sealed class CliException : Exception
{
    public CliException(string message)
        : base(message)
    {
    }

    public CliException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The documented exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>Everything succeeded.</summary>
    public const int Success = 0;

    /// <summary><c>run</c>: at least one run failed, or at least one input line was rejected.</summary>
    public const int RunsFailed = 1;

    /// <summary>A usage error or a problem with the command's inputs (file, assembly, node type, database).</summary>
    public const int UsageError = 2;

    /// <summary><c>run</c> was interrupted (Ctrl+C, SIGINT or SIGTERM): 128 + SIGINT, as shells report it.</summary>
    public const int Interrupted = 130;
}

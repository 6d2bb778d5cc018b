namespace Dataflow.Cli;

/// <summary>
/// How a command learns that the user wants it to stop, and which exit code that stop gets. The process
/// (<see cref="Program"/>) turns SIGINT and SIGTERM into <see cref="Request"/>; tests cancel the token directly.
/// <para>
/// A command that can stop gracefully (<c>run</c>: cancel the runs, flush the store, print the summary) calls
/// <see cref="StopGracefully"/> before its work starts; a first signal then only cancels <see cref="Token"/>.
/// Every other command (the reads, <c>graph</c>) is stopped at once by the first signal, since it may be blocked
/// in a call that no token reaches (opening a FIFO, a long SQLite statement) and has nothing to flush.
/// </para>
/// </summary>
internal sealed class Interruption
{
    private readonly CancellationTokenSource? _source;
    private int _graceful;
    private int _exitCode = ExitCodes.Interrupted;

    /// <summary>For a caller that owns the token (tests, embedding): cancelling it is a SIGINT.</summary>
    public Interruption(CancellationToken token)
    {
        Token = token;
    }

    private Interruption(CancellationTokenSource source)
    {
        _source = source;
        Token = source.Token;
    }

    public CancellationToken Token { get; }

    /// <summary>130 after SIGINT (or a cancelled token), 143 after SIGTERM.</summary>
    public int ExitCode => Volatile.Read(ref _exitCode);

    /// <summary>Whether the running command has said it stops gracefully on the first signal.</summary>
    public bool IsGraceful => Volatile.Read(ref _graceful) == 1;

    /// <summary>For the process: an interruption driven by <see cref="Request"/>.</summary>
    public static Interruption ForProcess(CancellationTokenSource source) => new(source);

    /// <summary>What the process prints on stderr when the first signal starts a graceful stop.</summary>
    public string StoppingMessage { get; private set; } = "cancelling: runs will end as Cancelled and the store will be flushed; press Ctrl+C again to exit at once.";

    /// <summary>The running command stops gracefully: the first signal cancels <see cref="Token"/> instead of exiting.</summary>
    /// <param name="stoppingMessage">What to print when that signal comes; the run command's message when null.</param>
    public void StopGracefully(string? stoppingMessage = null)
    {
        if (stoppingMessage is not null)
        {
            StoppingMessage = stoppingMessage;
        }

        Volatile.Write(ref _graceful, 1);
    }

    /// <summary>A signal arrived: records its exit code and cancels the token.</summary>
    public void Request(int exitCode)
    {
        Interlocked.CompareExchange(ref _exitCode, exitCode, ExitCodes.Interrupted);
        _source?.Cancel();
    }
}

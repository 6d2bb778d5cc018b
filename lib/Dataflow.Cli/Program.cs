using System.Runtime.InteropServices;

namespace Dataflow.Cli;

/// <summary>The process: wires SIGINT/SIGTERM and the real console to <see cref="Cli"/>.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        var interruption = Interruption.ForProcess(cancellation);
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            // SIGINT exits 130, SIGTERM 143, as shells report a process ended by that signal.
            // A command that stops gracefully (run): the first signal cancels the runs, the store is flushed and the
            // summary printed; a second exits at once. Any other command: the first signal exits at once.
            context.Cancel = true;
            var exitCode = context.Signal == PosixSignal.SIGTERM ? ExitCodes.Terminated : ExitCodes.Interrupted;
            if (Interlocked.Increment(ref signals) == 1 && interruption.IsGraceful)
            {
                Console.Error.WriteLine(interruption.StoppingMessage);
                interruption.Request(exitCode);
                return;
            }

            Console.Error.WriteLine(signals == 1 ? "interrupted." : "exiting at once.");
            ExitNow(signals == 1 ? exitCode : interruption.ExitCode);
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var isTerminal = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";
        var console = new CliConsole(Console.Out, Console.Error, isTerminal);
        return await Cli.RunAsync(args, console, interruption).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the process at once with <paramref name="exitCode"/>. On Unix this is <c>_exit</c>: Environment.Exit
    /// was seen to hang for good while the main thread was blocked inside SQLite's open of a FIFO (a read command
    /// with --db naming a FIFO); _exit ends the process whatever its threads are doing.
    /// </summary>
    private static void ExitNow(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        if (OperatingSystem.IsWindows())
        {
            Environment.Exit(exitCode);
        }

        try
        {
            NativeExit(exitCode);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            Environment.Exit(exitCode);
        }
    }

    [DllImport("libc", EntryPoint = "_exit")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern void NativeExit(int status);
}

using System.Runtime.InteropServices;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli;

/// <summary>The process: wires Ctrl+C and the real console to <see cref="Cli"/>.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            // First Ctrl+C (or SIGTERM): cancel gracefully. The runs end Cancelled, the store is flushed, the summary printed.
            // Second: exit at once.
            context.Cancel = true;
            if (Interlocked.Increment(ref signals) == 1)
            {
                Console.Error.WriteLine("cancelling: runs will end as Cancelled and the store will be flushed; press Ctrl+C again to exit at once.");
                cancellation.Cancel();
            }
            else
            {
                Console.Error.WriteLine("exiting at once.");
                Environment.Exit(ExitCodes.Interrupted);
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var isTerminal = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";
        var console = new CliConsole(Console.Out, Console.Error, isTerminal);
        return await Cli.RunAsync(args, console, cancellation.Token).ConfigureAwait(false);
    }
}

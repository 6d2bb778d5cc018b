using System.CommandLine;
using Dataflow.Cli.History;
using Dataflow.Cli.Loading;
using Dataflow.Cli.Reporting;
using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Sqlite;

namespace Dataflow.Cli.Commands;

/// <summary><c>dataflow resume</c> and <c>dataflow rerun --failed</c>: the durable side of the run command.</summary>
internal static partial class RunCommand
{
    /// <summary><c>dataflow resume</c> and <c>dataflow rerun --failed</c>: the durable graph's runs brought back from the store.</summary>
    public static Command CreateDurable(CliConsole console, Interruption interruption, BatchMode mode)
    {
        var assembly = new Option<string>("--assembly", "-a") { Description = "The assembly the batch ran with (the sample when omitted).", HelpName = "path.dll" };
        var start = new Option<string>("--start", "-s") { Description = "The start node type the batch ran with.", HelpName = "NodeType" };
        var parallelism = new Option<int>("--parallelism", "-p") { Description = "How many runs each node type executes at once (-1: bounded only by --max-in-flight).", DefaultValueFactory = _ => 64 };
        var inFlight = new Option<int>("--max-in-flight") { Description = "How many runs may be in flight at once.", DefaultValueFactory = _ => 1024 };
        var iterations = new Option<int>("--max-iterations") { Description = "The most nodes one run may execute before it fails (0: no limit).", DefaultValueFactory = _ => 10_000 };
        var progress = new Option<double>("--progress-interval") { Description = "Seconds between progress lines when output is not a terminal.", DefaultValueFactory = _ => 1.0, HelpName = "seconds" };
        var db = Cli.DatabaseOption();
        var command = mode == BatchMode.Resume
            ? new Command("resume", "After a crash or an interruption of `dataflow run --durable`: resume every unfinished run of the graph from its last checkpoint in the store (runs that finished are not touched). Exit code 1 when any run failed.")
            : new Command("rerun", "Rerun the failed runs of a session of `dataflow run --durable` from the node where each failed, as new runs linked to the old ones. Exit code 1 when any run failed again.");
        command.Options.Add(assembly);
        command.Options.Add(start);
        command.Options.Add(parallelism);
        command.Options.Add(inFlight);
        command.Options.Add(iterations);
        command.Options.Add(db);
        command.Options.Add(progress);
        Option<bool>? failed = null;
        Option<string>? session = null;
        if (mode == BatchMode.RerunFailed)
        {
            failed = new Option<bool>("--failed") { Description = "Rerun the failed runs (required: the runs to rerun)." };
            session = new Option<string>("--session") { Description = "The session whose failed runs to rerun; by default the latest that has failed runs not yet rerun." };
            command.Options.Add(failed);
            command.Options.Add(session);
        }

        command.SetAction((parse, cancellationToken) =>
        {
            if (failed is not null && !parse.GetValue(failed))
            {
                throw new CliException("rerun needs --failed: it reruns the failed runs of a session from their failing node.");
            }

            return ExecuteAsync(
                console,
                new RunSettings(
                    parse.GetValue(assembly),
                    parse.GetValue(start),
                    null,
                    0,
                    parse.GetValue(parallelism),
                    parse.GetValue(inFlight),
                    OutputPolicy.Verbose,
                    parse.GetValue(iterations),
                    parse.GetValue(db)!,
                    parse.GetValue(progress),
                    JsonlInputs.DefaultMaxLineBytes,
                    Durable: true,
                    Mode: mode,
                    Session: session is null ? null : parse.GetValue(session)),
                interruption,
                cancellationToken);
        });
        return command;
    }

    /// <summary><c>resume</c> or <c>rerun --failed</c>: brings the durable graph's runs back and waits for them (not for runs waiting at gates).</summary>
    private static async Task DurableBatchAsync(CliConsole console, RunSettings settings, IHistoryWriter store, Graph graph, GraphEngine engine, RunStatistics stats, DurableCounts counts, CancellationToken cancellationToken)
    {
        var outstanding = new CountdownSignal();
        void Track(GraphRun run)
        {
            stats.OnSubmitted();
            outstanding.Add();
            _ = run.WaitForGatesAsync(CancellationToken.None).ContinueWith(
                gates =>
                {
                    // A run waiting at a gate is left waiting: it stays resumable, and the batch does not wait for it.
                    if (gates.IsCompletedSuccessfully && gates.Result.Count > 0)
                    {
                        counts.OnWaiting();
                        outstanding.Signal();
                    }
                    else
                    {
                        stats.OnEnded(run);
                        outstanding.Signal();
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        try
        {
            if (settings.Mode == BatchMode.Resume)
            {
                var resumed = await engine.ResumeAsync(graph, cancellationToken).ConfigureAwait(false);
                counts.Resumed = resumed.Resumed.Count;
                counts.FinishedEarlier = resumed.FinishedEarlier;
                foreach (var run in resumed.Resumed)
                {
                    Track(run);
                }
            }
            else
            {
                var failed = await store.FailedRunsAsync(graph.Start.FullName ?? graph.Start.Name, settings.Session, cancellationToken).ConfigureAwait(false);
                console.Trace($"{failed.Count} failed runs to rerun");
                foreach (var runId in failed)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    Track(await engine.RerunAsync(graph, runId, cancellationToken: cancellationToken).ConfigureAwait(false));
                    counts.Rerun++;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped bringing runs back; those brought back so far are stopped below, resumably.
        }
        catch (Exception e) when (e is CheckpointException or InvalidOperationException or ArgumentException)
        {
            _ = outstanding.Close();
            await engine.DisposeAsync().ConfigureAwait(false);
            throw new CliException(TerminalText.Escape(e.Message), e);
        }
        finally
        {
            _ = outstanding.Close();
        }

        await WaitOrShutDownAsync(engine, settings, outstanding, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>What a durable batch brought back, for the summary.</summary>
internal sealed class DurableCounts
{
    private long _waiting;

    public long Resumed { get; set; }

    public long FinishedEarlier { get; set; }

    public long Rerun { get; set; }

    public long Waiting => Interlocked.Read(ref _waiting);

    public void OnWaiting() => Interlocked.Increment(ref _waiting);

    public override string ToString()
        => FormattableString.Invariant($"durable: {Resumed} runs resumed, {FinishedEarlier} finished earlier, {Rerun} rerun{(Waiting > 0 ? $", {Waiting} waiting at gates (resumable)" : string.Empty)}");
}

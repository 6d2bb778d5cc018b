using System.CommandLine;
using System.Globalization;
using Dataflow.Cli.History;
using Dataflow.Cli.Loading;
using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Npgsql.Jobs;
using Pg = Dataflow.Npgsql;

namespace Dataflow.Cli.Commands;

/// <summary><c>dataflow worker</c>: claims inputs from the PostgreSQL work queue and runs them until the job is done or it is stopped.</summary>
internal static class WorkerCommand
{
    public static Command Create(CliConsole console, Interruption interruption)
    {
        var assembly = new Option<string>("--assembly", "-a") { Description = "The assembly holding the job's graph (the sample when omitted).", HelpName = "path.dll" };
        var start = new Option<string>("--start", "-s") { Description = "The job's start node type in --assembly.", HelpName = "NodeType" };
        var job = new Option<string>("--job") { Description = "The job to work on; by default every job of the graph in the queue.", HelpName = "name" };
        var parallelism = new Option<int>("--parallelism", "-p") { Description = "How many runs each node type executes at once in this worker (-1: bounded only by --max-in-flight).", DefaultValueFactory = _ => 64 };
        var inFlight = new Option<int>("--max-in-flight") { Description = "How many inputs this worker holds and runs at once.", DefaultValueFactory = _ => 256 };
        var iterations = new Option<int>("--max-iterations") { Description = "The most nodes one run may execute before it fails (0: no limit).", DefaultValueFactory = _ => 10_000 };
        var policy = new Option<OutputPolicy>("--policy") { Description = "Which lifecycle events the runs emit and the store keeps: Verbose, Normal (start and end), Quiet (failures only) or Silent.", DefaultValueFactory = _ => OutputPolicy.Normal };
        var lease = new Option<double>("--lease") { Description = "Seconds a claim lasts without a heartbeat: a dead worker's inputs are taken over this long after its last heartbeat (from 0.2 to 86400).", DefaultValueFactory = _ => 30, HelpName = "seconds" };
        var batch = new Option<int>("--claim-batch") { Description = "The most inputs claimed at once (from 1 to 10000).", DefaultValueFactory = _ => 16 };
        var attempts = new Option<int>("--max-attempts") { Description = "The most claims of one input: an input whose lease expires once it was claimed this many times (its workers died or hung on it) ends failed instead (from 1 to 1000).", DefaultValueFactory = _ => 5 };
        var drain = new Option<double>("--drain-timeout") { Description = "On Ctrl+C or SIGTERM: seconds the runs in flight get to finish before they stop resumably and their inputs go back to the queue (from 0 to 86400).", DefaultValueFactory = _ => 10, HelpName = "seconds" };
        var db = Cli.DatabaseOption();
        var command = new Command("worker", "Claim inputs of the graph's jobs from the work queue of a PostgreSQL --db and run them, until no input is left queued or leased; start as many as you like on any machines. A dead worker's inputs are taken over after its lease: their runs resume from their checkpoints. Exit code 1 when any of its runs failed.")
        {
            assembly, start, job, parallelism, inFlight, iterations, policy, lease, batch, attempts, drain, db,
        };
        command.SetAction((parse, cancellationToken) => ExecuteAsync(
            console,
            interruption,
            new Settings(
                parse.GetValue(assembly),
                parse.GetValue(start),
                parse.GetValue(job),
                parse.GetValue(parallelism),
                parse.GetValue(inFlight),
                parse.GetValue(iterations),
                parse.GetValue(policy),
                parse.GetValue(lease),
                parse.GetValue(batch),
                parse.GetValue(attempts),
                parse.GetValue(drain),
                parse.GetValue(db)!),
            cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliConsole console, Interruption interruption, Settings settings, CancellationToken cancellationToken)
    {
        Validate(settings);
        var source = GraphSource.Resolve(settings.Assembly, settings.Start);
        var graph = source.CreateGraph(new GraphOptions { MaxDegreeOfParallelism = settings.Parallelism, MaxRunsInFlight = settings.MaxInFlight, Durable = true });
        var queue = await HistoryStores.OpenQueueAsync(settings.Database, "worker", cancellationToken).ConfigureAwait(false);
        await using (queue.ConfigureAwait(false))
        {
            await CheckJobAsync(queue, settings.Job, graph, cancellationToken).ConfigureAwait(false);
            var metadata = new Dictionary<string, object?>(StringComparer.Ordinal) { ["command"] = "worker", ["graph"] = source.Description, ["job"] = settings.Job };
            var store = await HistoryStores.OpenPostgresStoreAsync(settings.Database, "worker", metadata, cancellationToken).ConfigureAwait(false);
            await using (store.ConfigureAwait(false))
            {
                var worker = new Worker(
                    queue,
                    store,
                    graph,
                    new WorkerOptions
                    {
                        Job = settings.Job,
                        ClaimBatch = settings.ClaimBatch,
                        MaxAttempts = settings.MaxAttempts,
                        Lease = TimeSpan.FromSeconds(settings.LeaseSeconds),
                        DrainTimeout = TimeSpan.FromSeconds(settings.DrainSeconds),
                        RunOptions = new RunOptions { Policy = settings.Policy, MaxIterations = settings.MaxIterations },
                        OnError = e => console.WriteWarning(e.Message),
                    },
                    new GraphEngineOptions { MaxIterations = settings.MaxIterations, HistoryCapacity = 0 });
                await using (worker.ConfigureAwait(false))
                {
                    worker.Engine.Events.AddSink(new StoreEventSink(store), new SinkOptions { Name = "store", Capacity = 4096 });
                    interruption.StopGracefully(FormattableString.Invariant(
                        $"stopping: no more claims; the runs in flight get {settings.DrainSeconds:0.###} s to finish, then stop resumably and their inputs go back to the queue; press Ctrl+C again to exit at once."));
                    await console.Output.WriteLineAsync(
                        $"worker {worker.Id}: running {(settings.Job is null ? "every job" : $"job '{TerminalText.Escape(settings.Job)}'")} of {source.Description} from the {queue.Target}.").ConfigureAwait(false);
                    await console.Output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    WorkerSummary summary;
                    try
                    {
                        summary = await worker.RunAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (CheckpointException e)
                    {
                        throw new CliException(TerminalText.Escape(e.Message), e);
                    }
                    catch (Pg.StoreException e)
                    {
                        throw HistoryStores.QueueFailure(e);
                    }

                    await console.Output.WriteLineAsync(
                        $"worker {worker.Id}: {summary.Done} done, {summary.Failed} failed, {summary.Cancelled} cancelled, {summary.TakenOver} taken over from other workers, {summary.Released} given back to the queue.").ConfigureAwait(false);
                    if (cancellationToken.IsCancellationRequested)
                    {
                        await console.Error.WriteLineAsync($"interrupted: worker stopped; {summary.Released} inputs went back to the queue and their runs stay resumable.").ConfigureAwait(false);
                        return interruption.ExitCode;
                    }

                    if (summary.Failed > 0)
                    {
                        await console.Error.WriteLineAsync($"exit code 1: {summary.Failed} runs failed.").ConfigureAwait(false);
                        return ExitCodes.RunsFailed;
                    }

                    return ExitCodes.Success;
                }
            }
        }
    }

    /// <summary>Refuses an unknown job, or a job of another graph, before the worker opens a session in the store.</summary>
    private static async Task CheckJobAsync(JobQueue queue, string? job, Graph graph, CancellationToken cancellationToken)
    {
        if (job is null)
        {
            return;
        }

        JobProgress progress;
        try
        {
            progress = await queue.ProgressAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch (UnknownJobException e)
        {
            throw new CliException(TerminalText.Escape(e.Message) + " `dataflow status` lists the jobs there are.", e);
        }
        catch (Pg.StoreException e)
        {
            throw HistoryStores.QueueFailure(e);
        }

        var identity = graph.Start.FullName ?? graph.Start.Name;
        if (progress.Graph != identity)
        {
            throw new CliException($"job '{TerminalText.Escape(job)}' runs graph '{TerminalText.Escape(progress.Graph)}', not '{TerminalText.Escape(identity)}': give the --assembly and --start it was submitted with.");
        }
    }

    private static void Validate(Settings settings)
    {
        var errors = new List<string>();
        if (settings.Parallelism is 0 or < -1)
        {
            errors.Add($"--parallelism must be positive or -1 (unbounded), was {settings.Parallelism}.");
        }

        if (settings.MaxInFlight < 1)
        {
            errors.Add($"--max-in-flight must be positive, was {settings.MaxInFlight}.");
        }

        if (settings.MaxIterations < 0)
        {
            errors.Add($"--max-iterations must be 0 (no limit) or positive, was {settings.MaxIterations}.");
        }

        if (!(settings.LeaseSeconds is >= 0.2 and <= 86_400))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"--lease must be from 0.2 to 86400 seconds, was {settings.LeaseSeconds:R}."));
        }

        if (settings.ClaimBatch is < 1 or > 10_000)
        {
            errors.Add($"--claim-batch must be from 1 to 10000, was {settings.ClaimBatch}.");
        }

        if (settings.MaxAttempts is < 1 or > 1_000)
        {
            errors.Add($"--max-attempts must be from 1 to 1000, was {settings.MaxAttempts}.");
        }

        if (!(settings.DrainSeconds is >= 0 and <= 86_400))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"--drain-timeout must be from 0 to 86400 seconds, was {settings.DrainSeconds:R}."));
        }

        if (settings.Job is not null && JobNames.Problem(settings.Job) is { } problem)
        {
            errors.Add(problem);
        }

        CliPaths.Check(errors, "--db", settings.Database);
        if (settings.Assembly is not null)
        {
            CliPaths.Check(errors, "--assembly", settings.Assembly);
        }

        if (errors.Count > 0)
        {
            throw new CliException(errors);
        }
    }

    private sealed record Settings(
        string? Assembly,
        string? Start,
        string? Job,
        int Parallelism,
        int MaxInFlight,
        int MaxIterations,
        OutputPolicy Policy,
        double LeaseSeconds,
        int ClaimBatch,
        int MaxAttempts,
        double DrainSeconds,
        string Database);
}

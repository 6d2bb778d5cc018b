using System.Globalization;
using System.CommandLine;
using System.Net;
using System.Runtime.CompilerServices;
using Dataflow.Cli.History;
using Dataflow.Cli.Loading;
using Dataflow.Cli.Reporting;
using Dataflow.Cli.Sample;
using Dataflow.Checkpoints;
using Dataflow.Cli.Telemetry;
using Dataflow.Dashboard;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;

namespace Dataflow.Cli.Commands;

/// <summary><c>dataflow run</c>: runs a graph over a batch of inputs with live progress, and prints a summary.</summary>
internal static partial class RunCommand
{
    public static Command Create(CliConsole console, Interruption interruption)
    {
        var assembly = new Option<string>("--assembly", "-a") { Description = "A compiled assembly (.dll) holding your graph's node types; needs --start and --input.", HelpName = "path.dll" };
        var start = new Option<string>("--start", "-s") { Description = "The start node type in --assembly, by name or full name.", HelpName = "NodeType" };
        var input = new Option<string>("--input", "-i") { Description = "Start nodes, one JSON object per line (System.Text.Json, camelCase or PascalCase); - reads standard input. Optional for the sample.", HelpName = "file.jsonl|-" };
        var count = new Option<int>("--count", "-n") { Description = "How many orders the sample generates when no --input is given.", DefaultValueFactory = _ => SampleInputs.DefaultCount };
        var parallelism = new Option<int>("--parallelism", "-p") { Description = "How many runs each node type executes at once (-1: bounded only by --max-in-flight).", DefaultValueFactory = _ => 64 };
        var inFlight = new Option<int>("--max-in-flight") { Description = "How many runs may be in flight at once; further inputs wait for room.", DefaultValueFactory = _ => 1024 };
        var policy = new Option<OutputPolicy>("--policy") { Description = "Which lifecycle events the runs emit and the store keeps: Verbose (with transitions), Normal, Quiet (failures only) or Silent.", DefaultValueFactory = _ => OutputPolicy.Verbose };
        var iterations = new Option<int>("--max-iterations") { Description = "The most nodes one run may execute before it fails (0: no limit).", DefaultValueFactory = _ => 10_000 };
        var progress = new Option<double>("--progress-interval") { Description = FormattableString.Invariant($"Seconds between progress lines when output is not a terminal; from {RunSettings.MinProgressSeconds} to {RunSettings.MaxProgressSeconds:0}, other values are refused (not clamped)."), DefaultValueFactory = _ => 1.0, HelpName = "seconds" };
        var maxLine = new Option<int>("--max-line-bytes") { Description = FormattableString.Invariant($"The longest --input line accepted, in bytes; a longer line is rejected by its number without being read into memory (default {JsonlInputs.DefaultMaxLineBytes} = 1 MiB, at most {JsonlInputs.MaxMaxLineBytes})."), DefaultValueFactory = _ => JsonlInputs.DefaultMaxLineBytes, HelpName = "bytes" };
        var db = Cli.DatabaseOption();
        var durable = new Option<bool>("--durable") { Description = "Checkpoint every run in the store at each transition (group commit), so that after a crash `dataflow resume` goes on where the batch was, and `dataflow rerun --failed` reruns failed runs from their failing node." };
        var serve = new Option<bool>("--serve") { Description = "Serve the web dashboard while the batch runs (live progress, latencies, gates to answer), and after it until Ctrl+C." };
        var port = ServeSettings.PortOption();
        var address = ServeSettings.AddressOption();
        var otlp = new Option<string>("--otlp") { Description = "Export the batch's traces and metrics with OTLP over HTTP (protobuf) to this collector endpoint, such as http://localhost:4318: spans are POSTed to <endpoint>/v1/traces, metrics to <endpoint>/v1/metrics. An unreachable collector costs a warning, never the batch.", HelpName = "endpoint" };
        var otlpTimeout = new Option<double>("--otlp-timeout") { Description = FormattableString.Invariant($"Seconds one OTLP export may take, and the longest the final export waits at the end of the batch; from {OtlpExport.MinTimeoutSeconds} to {OtlpExport.MaxTimeoutSeconds:0}."), DefaultValueFactory = _ => OtlpExport.DefaultTimeoutSeconds, HelpName = "seconds" };

        var command = new Command("run", "Run a graph over a batch of inputs: the built-in sample pipeline, or --assembly/--start/--input. Exit code 1 when any run failed or any input line was rejected.")
        {
            assembly, start, input, count, parallelism, inFlight, policy, iterations, db, progress, maxLine, serve, port, address, otlp, otlpTimeout, durable,
        };
        command.SetAction((parse, cancellationToken) => ExecuteAsync(
            console,
            new RunSettings(
                parse.GetValue(assembly),
                parse.GetValue(start),
                parse.GetValue(input),
                parse.GetValue(count),
                parse.GetValue(parallelism),
                parse.GetValue(inFlight),
                parse.GetValue(policy),
                parse.GetValue(iterations),
                parse.GetValue(db)!,
                parse.GetValue(progress),
                parse.GetValue(maxLine),
                parse.GetValue(serve) ? new ServeSettings(parse.GetValue(port), parse.GetValue(address)!) : null,
                parse.GetValue(otlp),
                parse.GetValue(otlpTimeout),
                Durable: parse.GetValue(durable)),
            interruption,
            cancellationToken));
        return command;
    }

    public static async Task<int> ExecuteAsync(CliConsole console, RunSettings settings, Interruption interruption, CancellationToken cancellationToken)
    {
        var endpoint = settings.Validate();
        var source = GraphSource.Resolve(settings.Assembly, settings.Start);
        if (!source.IsSample && settings.Input is null && settings.Mode == BatchMode.Run)
        {
            throw new CliException($"--input <file.jsonl> is required with --assembly: give one {source.StartType.Name} per line.");
        }

        var graph = source.CreateGraph(new GraphOptions { MaxDegreeOfParallelism = settings.Parallelism, MaxRunsInFlight = settings.MaxInFlight, Durable = settings.Durable });
        console.Trace(settings.Input is null ? "generating the sample's inputs" : $"opening input '{settings.Input}'");
        var reader = settings.Input is null ? null : JsonlInputs.Open(settings.Input, console);
        await using var inputLifetime = (reader ?? Stream.Null).ConfigureAwait(false);
        console.Trace($"opening database '{HistoryStores.Display(settings.Database)}'");

        var store = await HistoryStores.OpenForWriteAsync(
            settings.Database,
            new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["command"] = settings.Mode switch { BatchMode.Resume => "resume", BatchMode.RerunFailed => "rerun", _ => "run" },
                ["durable"] = settings.Durable,
                ["graph"] = source.Description,
                ["policy"] = settings.Policy.ToString(),
            },
            cancellationToken).ConfigureAwait(false);
        var stats = new RunStatistics();
        var durability = new DurableCounts();
        long eventsWritten;
        long eventsLost;
        DashboardServer? server = null;
        await using (store.ConfigureAwait(false))
        {
            // Listening before the engine runs anything, so every run's spans and every measurement are exported.
            using var export = settings.Otlp is null ? null : OtlpExport.Start(settings.Otlp, TimeSpan.FromSeconds(settings.OtlpTimeoutSeconds), store.SessionId);
            var engine = new GraphEngine(new GraphEngineOptions { MaxIterations = settings.MaxIterations, HistoryCapacity = 0, Checkpoints = settings.Durable ? store.Checkpoints : null });
            await using (engine.ConfigureAwait(false))
            {
                // From here on the first signal cancels the runs gracefully instead of exiting at once.
                interruption.StopGracefully();
                var sink = engine.Events.AddSink(new StoreEventSink(store.Entries), new SinkOptions { Name = "store", Capacity = 4096 });
                var live = settings.Serve is null ? null : new LiveBatch(engine, store.SessionId);
                if (live is not null)
                {
                    var dashboard = new DashboardOptions { StorePath = store.Name, Live = live };
                    dashboard.Graphs.Add(graph);
                    server = await settings.Serve!.StartAsync(console, endpoint!, dashboard, cancellationToken).ConfigureAwait(false);
                }

                var batch = settings.Mode == BatchMode.Run
                    ? RunBatchAsync(console, settings, source, graph, engine, reader, stats, live, cancellationToken)
                    : DurableBatchAsync(console, settings, store, graph, engine, stats, durability, cancellationToken);
                await ProgressDisplay.ShowAsync(console, stats, TimeSpan.FromSeconds(settings.ProgressIntervalSeconds), batch, () => StoreStatus(store)).ConfigureAwait(false);
                await batch.ConfigureAwait(false);
                stats.Stop();
                live?.Finish();

                // Every run has ended; disposing the engine drains the sinks, so the store has every event.
                await engine.DisposeAsync().ConfigureAwait(false);
                eventsWritten = sink.Delivered;
                eventsLost = sink.Failures + sink.Dropped + engine.UndeliveredEvents;
            }

            await store.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            if (export is not null)
            {
                // Every run has ended and its spans with it: export what is left, within the timeout, before the summary.
                console.Trace($"exporting the batch's telemetry to '{export.Endpoint}'");
                var exported = export.Finish();
                console.Trace($"exported {exported.Traces.Items} spans in {exported.Traces.Exports} requests and {exported.Metrics.Items} metrics in {exported.Metrics.Exports} requests");
                if (export.Warning(exported) is { } warning)
                {
                    console.WriteWarning(warning);
                }
            }

            Summary.Write(console, new BatchReport(source.Description, stats, store.Name, store.SessionId, eventsWritten, eventsLost, cancellationToken.IsCancellationRequested)
            {
                Durability = settings.Durable ? durability.ToString() : null,
            });
        }

        var exitCode = await ExitCodeAsync(console, settings, stats, source, interruption, cancellationToken).ConfigureAwait(false);
        if (server is not null)
        {
            await using (server.ConfigureAwait(false))
            {
                await WaitAfterBatchAsync(console, server, cancellationToken).ConfigureAwait(false);
            }
        }

        return exitCode;
    }

    /// <summary>With --serve, the dashboard stays up after the batch, so its result can be looked at, until the first signal.</summary>
    private static async Task WaitAfterBatchAsync(CliConsole console, DashboardServer server, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        await console.Output.WriteLineAsync($"the batch is over; the dashboard stays at {server.Address} until Ctrl+C.").ConfigureAwait(false);
        await console.Output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Output.WriteLineAsync("dashboard stopped.").ConfigureAwait(false);
        }
    }

    private static async Task<int> ExitCodeAsync(CliConsole console, RunSettings settings, RunStatistics stats, GraphSource source, Interruption interruption, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync(settings.Durable
                ? $"interrupted: {stats.Cancelled} runs stopped; they stay resumable: `dataflow resume` goes on from their last checkpoints."
                : $"interrupted: {stats.Cancelled} runs cancelled; the store has every event written so far.").ConfigureAwait(false);
            return interruption.ExitCode;
        }

        if (stats.Failed > 0 || stats.RejectedLines > 0)
        {
            var why = new List<string>();
            if (stats.Failed > 0)
            {
                why.Add($"{stats.Failed} runs failed{(source.IsSample ? " (the sample fails some orders on purpose)" : string.Empty)}");
            }

            if (stats.RejectedLines > 0)
            {
                why.Add($"{stats.RejectedLines} input lines were rejected");
            }

            await console.Error.WriteLineAsync($"exit code 1: {string.Join("; ", why)}.").ConfigureAwait(false);
            return ExitCodes.RunsFailed;
        }

        return ExitCodes.Success;
    }

    /// <summary>What the progress shows about the store while its writes are stalled (another process holds the lock), else null.</summary>
    private static string? StoreStatus(IHistoryWriter store)
    {
        var health = store.Health;
        return health.StalledSince is { } since
            ? string.Create(CultureInfo.InvariantCulture, $"store write stalled for {(DateTimeOffset.UtcNow - since).TotalSeconds:0.0}s: {TerminalText.Escape(health.LastError?.Message ?? "retrying")}")
            : null;
    }

    private static async Task RunBatchAsync(
        CliConsole console,
        RunSettings settings,
        GraphSource source,
        Graph graph,
        GraphEngine engine,
        Stream? reader,
        RunStatistics stats,
        LiveBatch? live,
        CancellationToken cancellationToken)
    {
        var runOptions = new RunOptions { Policy = settings.Policy, MaxIterations = settings.MaxIterations };
        var inputs = reader is null
            ? SampleInputs.Generate(settings.Count).Cast<INode>().ToAsyncEnumerable()
            : JsonlInputs.ReadAsync(reader, settings.Input == JsonlInputs.StandardInput ? "stdin" : settings.Input!, source.StartType, settings.MaxLineBytes, rejected =>
            {
                stats.OnRejectedLine();
                console.WriteWarning($"rejected {rejected}");
            },
            cancellationToken);
        var options = new BatchOptions
        {
            Run = runOptions,
            RunSubmitted = run =>
            {
                stats.OnSubmitted();
                live?.Track(run);
            },
            RunEnded = stats.OnEnded,
        };

        // The engine's batch: inputs read at the pace of admission (--max-in-flight), each run counted as it ends, and
        // its task done once every run started has ended. The token stops reading and cancels the runs; a durable
        // batch's runs are not tied to it: an interruption shuts the engine down instead, which leaves them resumable.
        var batch = engine.RunBatchAsync(graph, UntilCancelled(inputs, cancellationToken), options, settings.Durable ? CancellationToken.None : cancellationToken);
        if (settings.Durable)
        {
            try
            {
                await batch.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await engine.DisposeAsync().ConfigureAwait(false);
            }
        }

        try
        {
            await batch.ConfigureAwait(false);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is OperationCanceledException or ObjectDisposedException)
        {
            // Interrupted: the runs already started have ended (cancelled, or stopped resumably); the summary says how.
        }
    }

    /// <summary>The inputs until the token is cancelled: an interruption stops reading even a source that ignores the token.</summary>
    private static async IAsyncEnumerable<INode> UntilCancelled(IAsyncEnumerable<INode> inputs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var node in inputs.ConfigureAwait(false))
        {
            if (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            yield return node;
        }
    }

    /// <summary>Waits for every run; a durable batch that is interrupted shuts the engine down, which stops its runs resumably.</summary>
    private static async Task WaitOrShutDownAsync(GraphEngine engine, RunSettings settings, CountdownSignal outstanding, CancellationToken cancellationToken)
    {
        if (settings.Durable)
        {
            try
            {
                await outstanding.Zero.WaitAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await engine.DisposeAsync().ConfigureAwait(false);
            }
        }

        await outstanding.Zero.ConfigureAwait(false);
    }
}

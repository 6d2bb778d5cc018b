// The sample worker: reads order ids (one a line) from the file given as --inputs, runs each through the graph
// with backpressure, and on SIGTERM lets the hosted engine drain. After the host has stopped it reports whether
// every run it started ended in a final state, and exits 0 only when they all did.
using System.Collections.Concurrent;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Extensions.Hosting;
using Dataflow.Extensions.Hosting.Tests.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

// The hosted setup, as the README shows it.
builder.Services.AddDataflow(builder.Configuration.GetSection("Dataflow"))
    .AddGraph<Receive>(graph => graph.MaxRunsInFlight = 16)
    .AddLoggerSink(OutputPolicy.Quiet);

builder.Services.AddSingleton<RunLedger>();
builder.Services.AddHostedService<InputWorker>();

using var host = builder.Build();
var ledger = host.Services.GetRequiredService<RunLedger>();
await host.RunAsync().ConfigureAwait(false);

var runs = ledger.Runs;
var final = runs.Count(r => r.State.IsFinal() && r.EndedAt is not null && r.Completion.IsCompleted);
var summary = $"{runs.Count} runs started, {final} ended in a final state "
    + $"({runs.Count(r => r.State == RunState.Done)} done, {runs.Count(r => r.State == RunState.Cancelled)} cancelled, {runs.Count(r => r.State == RunState.Failed)} failed)";
if (runs.Count > 0 && final == runs.Count)
{
    Console.WriteLine($"drained: {summary}");
    return 0;
}

Console.WriteLine($"not drained: {summary}");
return 3;

namespace Dataflow.Extensions.Hosting.Tests.Worker
{
    public sealed record Receive(int OrderId) : Dataflow.Graphs.INode<Process>
    {
        public async ValueTask<Process> RunAsync(Dataflow.Graphs.NodeContext context)
        {
            await Task.Delay(10, context.CancellationToken).ConfigureAwait(false);
            return new Process(OrderId);
        }
    }

    public sealed record Process(int OrderId) : Dataflow.Graphs.INode<Processed>
    {
        public async ValueTask<Processed> RunAsync(Dataflow.Graphs.NodeContext context)
        {
            await Task.Delay(10, context.CancellationToken).ConfigureAwait(false);
            return new Processed(OrderId);
        }
    }

    public sealed record Processed(int OrderId) : Dataflow.Graphs.INode;

    /// <summary>Every run the worker started.</summary>
    public sealed class RunLedger
    {
        private readonly ConcurrentQueue<GraphRun> _runs = new();

        public IReadOnlyList<GraphRun> Runs => [.. _runs];

        public int Add(GraphRun run)
        {
            _runs.Enqueue(run);
            return _runs.Count;
        }
    }

    /// <summary>Submits one run per input line until the inputs end or the application stops.</summary>
    public sealed class InputWorker(GraphEngine engine, GraphCatalog graphs, RunLedger ledger, IConfiguration configuration) : BackgroundService
    {
        private const int ReportAfter = 32;

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var path = configuration["inputs"] ?? throw new InvalidOperationException("Give the inputs file as --inputs <path>.");
            var graph = graphs.Get<Receive>();
            try
            {
                await foreach (var line in File.ReadLinesAsync(path, stoppingToken).ConfigureAwait(false))
                {
                    // Not stoppingToken: SubmitAsync's token also cancels the run, and on SIGTERM the runs in
                    // flight should finish. Waiting for room ends as soon as a run in flight does.
                    stoppingToken.ThrowIfCancellationRequested();
                    var run = await engine.SubmitAsync(graph, new Receive(int.Parse(line, System.Globalization.CultureInfo.InvariantCulture)), cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    if (ledger.Add(run) == ReportAfter)
                    {
                        Console.WriteLine($"running: {ReportAfter} runs started");
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // SIGTERM: stop reading; the hosted engine drains what is in flight.
            }
        }
    }
}

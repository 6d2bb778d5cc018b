using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Dapper;
using Dataflow.Bench.Measurement;
using Dataflow.Graphs;
using Dataflow.Npgsql;
using Dataflow.Npgsql.Jobs;
using Dataflow.Testing;
using Npgsql;

namespace Dataflow.Bench.Workloads;

/// <summary>
/// One job of I/O-bound runs (three nodes, each awaiting 20 ms) worked by 1, 2 or 3 worker processes (this bench
/// executable, <c>worker</c> mode) on one throwaway PostgreSQL server, each worker holding at most
/// <see cref="InFlight"/> inputs. The workers start, open their stores, then are told to go at the same moment;
/// throughput is the job's inputs over the span from the first input finished to the last, from the queue's own
/// <c>finished_at</c> times, so process start-up is not counted. Start-up includes the JIT: before it says it is ready,
/// each worker works warm-up jobs of its own through the same queue, store and graph until a whole warm-up job compiles
/// next to nothing, so that the measured job runs code the runtime has already compiled at its final tier. One warm-up
/// job is not enough: the runtime recompiles a hot method (tier 1) only after it has been called a while at tier 0, so
/// after one job of 1,500 inputs each worker still recompiled 1,200 to 2,000 methods during the measured job, about
/// 2 s of compiling per worker with 3 workers on 2 cores, against 3 workers three times over and against 1 worker once
/// over a longer job (its worker CPU per run measured 0.48 to 0.9 ms with one warm-up job, 0.36 to 0.45 ms after the
/// JIT went quiet, the same for 1 and 3 workers).
/// </summary>
internal sealed class ScaleoutWorkload : IAsyncDisposable
{
    /// <summary>Each worker's in-flight bound (the graph's <c>MaxRunsInFlight</c>).</summary>
    public const int InFlight = 50;

    /// <summary>At most this many warm-up jobs per worker process.</summary>
    private const int MaxWarmUpRounds = 6;

    /// <summary>A warm-up job that compiled at most this many methods leaves the JIT quiet enough to measure (the third job usually compiles 80 to 180, the fourth 30 to 120, of about 5,000).</summary>
    private const int QuietJitMethods = 150;

    private static readonly TimeSpan NodeLatency = TimeSpan.FromMilliseconds(20);
    private readonly PostgresServer _server;
    private int _jobs;

    private ScaleoutWorkload(PostgresServer server) => _server = server;

    public static async Task<ScaleoutWorkload> StartAsync() => new(await PostgresServer.StartAsync(durable: false));

    public static Graph CreateGraph() => Graph.Create<Call>(new GraphOptions { Durable = true, MaxRunsInFlight = InFlight });

    /// <summary>
    /// Runs <paramref name="runs"/> inputs with <paramref name="workers"/> worker processes; returns inputs per second and
    /// the CPU time per input from "go" to the end, of the worker processes together (each measures its own) and of the
    /// PostgreSQL server (every process of it, background ones included).
    /// </summary>
    public async Task<ScaleoutMeasurement> MeasureAsync(int workers, int runs, int warmUp)
    {
        var database = await _server.CreateDatabaseAsync("scaleout");
        var job = "scaleout-" + Interlocked.Increment(ref _jobs).ToString(CultureInfo.InvariantCulture);
        await using (var queue = await JobQueue.OpenAsync(database))
        {
            await queue.SubmitAsync(job, CreateGraph(), Enumerable.Range(0, runs).Select(i => (INode)new Call(i)));
        }

        var processes = Enumerable.Range(0, workers).Select(_ => StartWorker(database, job, warmUp)).ToList();
        TimeSpan? serverBefore, serverAfter;
        var workerCpu = TimeSpan.Zero;
        try
        {
            foreach (var process in processes)
            {
                var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
                if (line != "ready")
                {
                    throw new InvalidOperationException($"A worker said '{line}' instead of 'ready': {await process.StandardError.ReadToEndAsync()}");
                }
            }

            serverBefore = ProcessCpu.PostgresServer(_server.DataDirectory);
            foreach (var process in processes)
            {
                await process.StandardInput.WriteLineAsync("go");
                await process.StandardInput.FlushAsync();
            }

            foreach (var process in processes)
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"A worker exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
                }

                var cpu = await process.StandardOutput.ReadLineAsync();
                workerCpu += TimeSpan.FromMilliseconds(double.Parse(cpu?.StartsWith("cpu ", StringComparison.Ordinal) == true ? cpu[4..] : throw new InvalidOperationException($"A worker said '{cpu}' instead of its CPU time."), CultureInfo.InvariantCulture));
            }

            serverAfter = ProcessCpu.PostgresServer(_server.DataDirectory);
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                process.Dispose();
            }
        }

        await using var connection = new NpgsqlConnection(database);
        var (done, seconds) = await connection.QuerySingleAsync<(long, double)>(
            "SELECT count(*) FILTER (WHERE state = 'done'), extract(epoch FROM max(finished_at) - min(finished_at))::float8 FROM dataflow.job_items WHERE job = @Job", new { Job = job });
        if (done != runs)
        {
            throw new InvalidOperationException($"{done} of {runs} inputs ended Done.");
        }

        var serverCpu = serverAfter - serverBefore;
        return new ScaleoutMeasurement((runs - 1) / seconds, workerCpu.TotalMilliseconds / runs, serverCpu?.TotalMilliseconds / runs);
    }

    /// <summary>
    /// The worker process: opens the queue and a store, works warm-up jobs of <paramref name="warmUp"/> inputs of its
    /// own until one compiles at most <see cref="QuietJitMethods"/> methods (or <see cref="MaxWarmUpRounds"/> of them),
    /// says "ready", waits for "go", works until the job is done.
    /// </summary>
    public static async Task<int> RunWorkerAsync(string connectionString, string job, int warmUp)
    {
        await using var queue = await JobQueue.OpenAsync(connectionString);
        await using var store = await PostgresSessionStore.OpenAsync(connectionString);
        for (var round = 0; warmUp > 0 && round < MaxWarmUpRounds; round++)
        {
            var compiled = JitInfo.GetCompiledMethodCount();
            var warmUpJob = string.Create(CultureInfo.InvariantCulture, $"{job}-warm-up-{Environment.ProcessId}-{round}");
            await queue.SubmitAsync(warmUpJob, CreateGraph(), Enumerable.Range(0, warmUp).Select(i => (INode)new Call(i)));
            await using (var warming = new Worker(queue, store, CreateGraph(), new WorkerOptions { Job = warmUpJob, PollInterval = TimeSpan.FromMilliseconds(50) }))
            {
                await warming.RunAsync();
            }

            if (JitInfo.GetCompiledMethodCount() - compiled <= QuietJitMethods)
            {
                break;
            }
        }

        await using var worker = new Worker(queue, store, CreateGraph(), new WorkerOptions { Job = job, PollInterval = TimeSpan.FromMilliseconds(50) });
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        await Console.In.ReadLineAsync();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        await worker.RunAsync();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        Console.Out.WriteLine("cpu " + cpu.TotalMilliseconds.ToString("R", CultureInfo.InvariantCulture));
        Console.Out.Flush();
        return 0;
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private static Process StartWorker(string database, string job, int warmUp)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Worker processes as they would be deployed for I/O-bound jobs (README, "Workers"): the thread pool does not
        // spin-wait for work before it sleeps (with runs that mostly wait, spinning is most of a worker's CPU), and
        // dynamic PGO is off, so the runtime's tiering settles within the warm-up instead of re-compiling hot methods
        // through the measured job. Both the same for 1, 2 and 3 workers.
        info.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0";
        info.Environment["DOTNET_TieredPGO"] = "0";
        info.ArgumentList.Add(typeof(ScaleoutWorkload).Assembly.Location);
        info.ArgumentList.Add("worker");
        info.ArgumentList.Add(database);
        info.ArgumentList.Add(job);
        info.ArgumentList.Add(warmUp.ToString(CultureInfo.InvariantCulture));
        return Process.Start(info) ?? throw new InvalidOperationException("Could not start a worker process.");
    }

    public sealed record Call(int Id) : INode<Enrich>
    {
        public async ValueTask<Enrich> RunAsync(NodeContext context)
        {
            await Task.Delay(NodeLatency, context.CancellationToken);
            return new Enrich(Id);
        }
    }

    public sealed record Enrich(int Id) : INode<Store>
    {
        public async ValueTask<Store> RunAsync(NodeContext context)
        {
            await Task.Delay(NodeLatency, context.CancellationToken);
            return new Store(Id);
        }
    }

    public sealed record Store(int Id) : INode<Stored>
    {
        public async ValueTask<Stored> RunAsync(NodeContext context)
        {
            await Task.Delay(NodeLatency, context.CancellationToken);
            return new Stored(Id);
        }
    }

    public sealed record Stored(int Id) : INode;
}

/// <summary>One measurement of <see cref="ScaleoutWorkload"/>: inputs per second, and CPU milliseconds per input in the worker processes and in the server (null where it cannot be read).</summary>
internal sealed record ScaleoutMeasurement(double RunsPerSecond, double WorkerCpuMs, double? ServerCpuMs);

using Dataflow.Engine;
using Dataflow.Graphs;

namespace Dataflow.Npgsql.Jobs;

/// <summary>Options of a <see cref="Worker"/>; validated and copied when the worker is created.</summary>
public sealed class WorkerOptions
{
    /// <summary>The job to work on; null for every job of the worker's graph.</summary>
    /// <value>The default value is null.</value>
    public string? Job { get; set; }

    /// <summary>The most inputs claimed in one statement. Small batches spread a job evenly over the workers.</summary>
    /// <value>The default value is 16.</value>
    public int ClaimBatch { get; set; } = 16;

    /// <summary>How long a claim lasts without a heartbeat: after a worker dies, its inputs are claimed again this long
    /// after its last heartbeat. It must outlast any pause of a live worker (a stalled network, a long GC).</summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most claims of one input: an input whose lease expires once it was claimed this many times (each worker that
    /// held it died or hung, as a poison input makes them) is not claimed again but ends Failed, with an error that says
    /// so. Claims after a worker gave the input back on its stop count too.
    /// </summary>
    /// <value>The default value is 5.</value>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How often the worker renews its leases; null for a third of <see cref="Lease"/>.</summary>
    /// <value>The default value is null.</value>
    public TimeSpan? Heartbeat { get; set; }

    /// <summary>How long the worker waits before it looks again when nothing can be claimed but inputs are leased by others.</summary>
    /// <value>The default value is 500 milliseconds.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>When the worker is stopped, how long it waits for its runs to finish before it stops them (resumably) and gives their inputs back.</summary>
    /// <value>The default value is 10 seconds.</value>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether <see cref="Worker.RunAsync"/> returns once the job has no input left that is queued or leased
    /// (by any worker); otherwise it waits for new jobs until it is stopped.</summary>
    /// <value>The default value is true.</value>
    public bool StopWhenDone { get; set; } = true;

    /// <summary>Each run's options (policy, iteration limit, deadline).</summary>
    /// <value>The default value is null: the engine's defaults.</value>
    public RunOptions? RunOptions { get; set; }

    /// <summary>Reads an input's JSON as a start node; null for System.Text.Json into the graph's start type (web defaults: camelCase or PascalCase).
    /// An input it throws on (<c>JsonException</c>, <c>ArgumentException</c>, <c>NotSupportedException</c>) ends Failed with the reason.</summary>
    /// <value>The default value is null.</value>
    public Func<string, INode>? ReadInput { get; set; }

    /// <summary>The worker's id in the queue; null for the host name, process id and a random suffix.</summary>
    /// <value>The default value is null.</value>
    public string? WorkerId { get; set; }

    /// <summary>Hears background failures (a heartbeat or an outcome write that failed; they are retried); called on the worker's loops.</summary>
    /// <value>The default value is null.</value>
    public Action<StoreException>? OnError { get; set; }

    internal WorkerOptions Validated()
    {
        var errors = new List<string>();
        if (ClaimBatch is < 1 or > 10_000)
        {
            errors.Add($"ClaimBatch must be from 1 to 10000, was {ClaimBatch}.");
        }

        if (Lease < TimeSpan.FromMilliseconds(200) || Lease > TimeSpan.FromDays(1))
        {
            errors.Add($"Lease must be from 200 ms to one day, was {Lease}.");
        }

        if (MaxAttempts is < 1 or > 1_000)
        {
            errors.Add($"MaxAttempts must be from 1 to 1000, was {MaxAttempts}.");
        }

        if (Heartbeat is { } beat && (beat <= TimeSpan.Zero || beat >= Lease))
        {
            errors.Add($"Heartbeat must be positive and shorter than Lease ({Lease}), was {beat}.");
        }

        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"PollInterval must be positive and at most an hour, was {PollInterval}.");
        }

        if (DrainTimeout < TimeSpan.Zero || DrainTimeout > TimeSpan.FromDays(1))
        {
            errors.Add($"DrainTimeout must be from 0 to one day, was {DrainTimeout}.");
        }

        if (Job is not null && (string.IsNullOrWhiteSpace(Job) || Job.Length > 200))
        {
            errors.Add("Job must be null or 1 to 200 characters.");
        }

        if (WorkerId is not null && (string.IsNullOrWhiteSpace(WorkerId) || WorkerId.Length > 200 || WorkerId.Any(char.IsControl)))
        {
            errors.Add("WorkerId must be null or 1 to 200 characters without control characters.");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid WorkerOptions: " + string.Join(" ", errors));
        }

        return new WorkerOptions
        {
            Job = Job,
            ClaimBatch = ClaimBatch,
            Lease = Lease,
            MaxAttempts = MaxAttempts,
            Heartbeat = Heartbeat ?? Lease / 3,
            PollInterval = PollInterval,
            DrainTimeout = DrainTimeout,
            StopWhenDone = StopWhenDone,
            RunOptions = RunOptions,
            ReadInput = ReadInput,
            WorkerId = WorkerId ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}",
            OnError = OnError,
        };
    }
}

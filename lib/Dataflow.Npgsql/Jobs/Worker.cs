using System.Collections.Concurrent;
using System.Text.Json;
using Dataflow.Checkpoints;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Npgsql.Checkpoints;
using Dataflow.Storage;

namespace Dataflow.Npgsql.Jobs;

/// <summary>
/// A worker process's loop over a <see cref="JobQueue"/>: claims inputs of its graph's jobs in small batches under
/// leases, runs them through its own <see cref="Engine"/> (durable, checkpointing in the store), and records each
/// input's final state and result. Runs on any number of machines at once.
/// </summary>
/// <remarks>
/// <para>Leases: the worker renews every lease it holds each <see cref="WorkerOptions.Heartbeat"/>. When a worker dies,
/// its leases expire and other workers claim those inputs first: an input whose run had started resumes that run from
/// its last checkpoint (the nodes executing at the death run again, nothing before them); an input whose run had
/// finished gets that run's final state recorded without running anything; an input without a run starts one.</para>
/// <para>Owners: the claim loop (<see cref="RunAsync"/>) owns claiming and submitting; a run's final checkpoint
/// finishes its input in the transaction that commits it (the store's checkpoint writer does both), and a watcher per
/// run frees its slot once it ended; the outcome writer (a <see cref="BatchWriter{T}"/>) writes the other outcomes
/// (inputs that cannot start, runs that ended under another worker, inputs given back) in batches, one transaction
/// each; the heartbeat loop owns renewing. <c>_slots</c> bounds claimed-but-unfinished inputs by the graph's
/// <see cref="GraphOptions.MaxRunsInFlight"/>, so a claimed input never waits for admission while its lease runs.</para>
/// <para>Stopping (the token of <see cref="RunAsync"/>): the worker stops claiming, waits up to
/// <see cref="WorkerOptions.DrainTimeout"/> for its runs, then shuts its engine down (the runs left stop resumably),
/// writes the outcomes it has, and gives the inputs it still holds back to the queue.</para>
/// </remarks>
public sealed partial class Worker : IAsyncDisposable
{
    private static readonly JsonSerializerOptions InputOptions = new(JsonSerializerDefaults.Web);

    private readonly JobQueue _queue;
    private readonly PostgresSessionStore _store;
    private readonly Graph _graph;
    private readonly string _graphId;
    private readonly WorkerOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<long, Task> _watchers = new();
    private BatchWriter<ItemOutcome>? _outcomes;
    private volatile bool _shuttingDown;
    private int _started;
    private long _done;
    private long _failed;
    private long _cancelled;
    private long _takenOver;
    private long _released;
    private long _nextExpiredLook;

    /// <summary>The highest id of a queued input this worker claimed: its next claim reads above it first (see <see cref="JobQueue.ClaimQueuedStatement"/>). Only the claim loop uses it.</summary>
    private long _frontier;

    /// <summary>Creates the worker and its engine; nothing is claimed before <see cref="RunAsync"/>.</summary>
    /// <param name="queue">The queue.</param>
    /// <param name="store">The store in the same database and schema: the runs' checkpoints go there.</param>
    /// <param name="graph">The graph the worker runs: durable (<see cref="GraphOptions.Durable"/>); its <see cref="GraphOptions.MaxRunsInFlight"/> bounds the worker's runs.</param>
    /// <param name="options">The worker's options; validated and copied.</param>
    /// <param name="engineOptions">The engine's options; their <see cref="GraphEngineOptions.Checkpoints"/> is set to the store's.</param>
    /// <exception cref="ArgumentException">The graph is not durable, the queue and store are in different databases or schemas, or an option is invalid.</exception>
    public Worker(JobQueue queue, PostgresSessionStore store, Graph graph, WorkerOptions? options = null, GraphEngineOptions? engineOptions = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(graph);
        if (!graph.IsDurable)
        {
            throw new ArgumentException($"A worker's graph must be durable (GraphOptions.Durable), so that another worker can resume its runs; the graph that starts at '{graph.Start.Name}' is not.", nameof(graph));
        }

        if (queue.Target != store.Target)
        {
            throw new ArgumentException($"The queue ({queue.Target}) and the store ({store.Target}) must be the same schema of the same database: an input's run is tied to it when the run's start checkpoint is committed.", nameof(store));
        }

        _queue = queue;
        _store = store;
        _graph = graph;
        _graphId = JobQueue.GraphId(graph);
        _options = (options ?? new WorkerOptions()).Validated();
        _slots = new SemaphoreSlim(graph.MaxRunsInFlight);
        var engine = engineOptions ?? new GraphEngineOptions();
        engine.Checkpoints = store.Checkpoints;
        Engine = new GraphEngine(engine);
    }

    /// <summary>The worker's id in the queue.</summary>
    public string Id => _options.WorkerId!;

    /// <summary>The worker's engine: add sinks to its <see cref="GraphEngine.Events"/> before <see cref="RunAsync"/>. The worker disposes it.</summary>
    public GraphEngine Engine { get; }

    /// <summary>
    /// Works until the job (or every job of the graph) has no input left that is queued or leased, or until
    /// <paramref name="cancellationToken"/> stops it (then it drains: see the remarks on <see cref="Worker"/>). Call once.
    /// </summary>
    /// <param name="cancellationToken">Stops the worker gracefully.</param>
    /// <returns>What it did.</returns>
    /// <exception cref="UnknownJobException"><see cref="WorkerOptions.Job"/> names no job of the graph.</exception>
    /// <exception cref="GraphChangedException">A run to take over was checkpointed with a different graph; the worker stopped and gave its inputs back.</exception>
    /// <exception cref="StoreException">The database failed in a way that retrying does not mend.</exception>
    public async Task<WorkerSummary> RunAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("A worker runs once; create another to run again.");
        }

        if (_options.Job is { } job && !await _queue.HasJobAsync(job, _graphId, cancellationToken).ConfigureAwait(false))
        {
            throw new UnknownJobException($"The queue ({_queue.Target}) has no job named '{job}' for graph '{_graphId}'.");
        }

        // From here a run's final checkpoint also finishes its queue item, in one transaction: no outcome write of its own.
        _store.CheckpointStore.ServeQueue(Id);
        try
        {
            await _queue.RegisterAsync(Id, _options.Job, _graphId, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _store.CheckpointStore.StopServingQueue(Id);
            throw;
        }

        _outcomes = new BatchWriter<ItemOutcome>(new OutcomeTarget(_queue, Id), new BatchWriterOptions
        {
            BatchSize = 512,
            FlushInterval = TimeSpan.FromMilliseconds(20),
            QueueCapacity = _graph.MaxRunsInFlight + 1024,
            OnFailure = failure => Report(new StoreException($"Recording {failure.BatchCount} outcomes failed (attempt {failure.Attempt}): {failure.Error.Message}", failure.Error)),
        });
        using var stopHeartbeat = new CancellationTokenSource();
        Task heartbeat;
        using (ExecutionContext.SuppressFlow())
        {
            heartbeat = Task.Run(() => HeartbeatAsync(stopHeartbeat.Token), CancellationToken.None);
        }

        try
        {
            await ClaimLoopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await DrainAsync(cancellationToken.IsCancellationRequested).ConfigureAwait(false);
            await stopHeartbeat.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            try
            {
                // The final checkpoints written behind (if the graph writes them so) finish their items before the rest is given back.
                await _store.CheckpointStore.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (StoreException e)
            {
                Report(e);
            }

            _store.CheckpointStore.StopServingQueue(Id);
            await _outcomes.DisposeAsync().ConfigureAwait(false);
            Interlocked.Add(ref _released, await _queue.StopAsync(Id, CancellationToken.None).ConfigureAwait(false));
        }

        return new WorkerSummary(Interlocked.Read(ref _done), Interlocked.Read(ref _failed), Interlocked.Read(ref _cancelled), Interlocked.Read(ref _takenOver), Interlocked.Read(ref _released));
    }

    /// <summary>Disposes the engine (stopping its runs resumably, if <see cref="RunAsync"/> was not awaited).</summary>
    /// <returns>A task that completes when the engine is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync().ConfigureAwait(false);
        _slots.Dispose();
    }

    private async Task ClaimLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            var wanted = 1;
            while (wanted < _options.ClaimBatch && _slots.Wait(0, CancellationToken.None))
            {
                wanted++;
            }

            IReadOnlyList<ClaimedItem> claimed;
            try
            {
                claimed = await _queue.ClaimAsync(Id, _graphId, _options.Job, wanted, _options.Lease, _options.MaxAttempts, LookForExpiredLeases(), _frontier, cancellationToken).ConfigureAwait(false);
                _frontier = Math.Max(_frontier, claimed.Where(c => !c.TakenOver).Select(c => c.Id).DefaultIfEmpty().Max());
            }
            catch (Exception e) when (e is OperationCanceledException or StoreUnavailableException)
            {
                _slots.Release(wanted);
                if (e is StoreUnavailableException unavailable)
                {
                    Report(unavailable);
                    await PauseAsync(cancellationToken).ConfigureAwait(false);
                }

                continue;
            }

            if (claimed.Count < wanted)
            {
                _slots.Release(wanted - claimed.Count);

                // Few queued inputs left (or none): the next claim looks for expired leases again, whenever it comes.
                _nextExpiredLook = 0;
            }

            if (claimed.Count == 0)
            {
                if (_options.StopWhenDone && _watchers.IsEmpty)
                {
                    await _outcomes!.FlushAsync(cancellationToken).ConfigureAwait(false);
                    if (_watchers.IsEmpty && !await _queue.HasOpenItemsAsync(_graphId, _options.Job, cancellationToken).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                await PauseAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            Interlocked.Add(ref _takenOver, claimed.Count(c => c.TakenOver));
            await StartFreshAsync(claimed.Where(c => c.RunId is null)).ConfigureAwait(false);
            await TakeOverAsync([.. claimed.Where(c => c.RunId is not null)], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether this claim also looks for inputs whose lease expired: the first claim, the one after a claim that found
    /// too few queued inputs, and otherwise at most every tenth of a lease (at most every second). Leases expire seldom;
    /// looking at every claim would cost a statement per claim, several times a second.
    /// </summary>
    private bool LookForExpiredLeases()
    {
        var now = Environment.TickCount64;
        if (now < _nextExpiredLook)
        {
            return false;
        }

        _nextExpiredLook = now + (long)Math.Min(_options.Lease.TotalMilliseconds / 10, 1000);
        return true;
    }

    private async Task StartFreshAsync(IEnumerable<ClaimedItem> items)
    {
        foreach (var item in items)
        {
            INode start;
            try
            {
                start = _options.ReadInput is { } read ? read(item.Input) : ReadInput(item.Input);
            }
            catch (Exception e) when (e is JsonException or ArgumentException or NotSupportedException)
            {
                await FinishAsync(new ItemOutcome(item.Id, "failed", null, $"{e.GetType().Name}: input {item.Line} of job '{item.Job}' is not a {_graph.Start.Name}: {e.Message}")).ConfigureAwait(false);
                continue;
            }

            GraphRun run;
            try
            {
                run = await SubmitAsync(item.Id, start).ConfigureAwait(false);
            }
            catch (ArgumentException e)
            {
                await FinishAsync(new ItemOutcome(item.Id, "failed", null, $"{e.GetType().Name}: {e.Message}")).ConfigureAwait(false);
                continue;
            }

            Watch(item, run);
        }
    }

    /// <summary>Submits a run with the item in scope, so that the store ties the item to the run with its start checkpoint.</summary>
    private async Task<GraphRun> SubmitAsync(long itemId, INode start)
    {
        QueueItemScope.Enter(itemId);

        // Not tied to the worker's token: a stopping worker shuts its engine down instead, which leaves the run resumable.
        return await Engine.SubmitAsync(_graph, start, _options.RunOptions, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Tracks a run until its end is queued as an outcome; <see cref="DrainAsync"/> waits for every tracked run.</summary>
    private void Watch(ClaimedItem item, GraphRun run)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _watchers[item.Id] = ended.Task;
        _ = FinishWhenEndedAsync(item, run, ended);
    }

    private async Task FinishWhenEndedAsync(ClaimedItem item, GraphRun run, TaskCompletionSource ended)
    {
        try
        {
            // Completion never faults; the run's state says how it ended.
            await run.Completion.ConfigureAwait(false);
            if (run.State is RunState.Cancelled && _shuttingDown)
            {
                // Cancelled by this worker's shutdown: the run stays resumable, and its input goes back to the queue.
                await FinishAsync(new ItemOutcome(item.Id, null, null, null)).ConfigureAwait(false);
            }
            else
            {
                // The run's final checkpoint, committed before its completion, finished the item (see CheckpointTarget).
                Count(run.State switch { RunState.Done => "done", RunState.Failed => "failed", _ => "cancelled" });
                _slots.Release();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Report(new StoreException($"The end of run '{run.Id}' (input {item.Line} of job '{item.Job}') could not be recorded: {e.Message}", e));
        }
        finally
        {
            _watchers.TryRemove(item.Id, out _);
            ended.SetResult();
        }
    }

    /// <summary>Counts an input's end in the summary.</summary>
    private void Count(string? state)
        => _ = state switch
        {
            "done" => Interlocked.Increment(ref _done),
            "failed" => Interlocked.Increment(ref _failed),
            "cancelled" => Interlocked.Increment(ref _cancelled),
            _ => Interlocked.Increment(ref _released),
        };

    /// <summary>Queues an outcome (an input that has no run, or whose run ended elsewhere, or one given back) and frees the input's slot; counts it.</summary>
    private async Task FinishAsync(ItemOutcome outcome)
    {
        Count(outcome.State);
        _slots.Release();
        try
        {
            await _outcomes!.EnqueueAsync(outcome, CancellationToken.None).ConfigureAwait(false);
        }
        catch (BatchWriterStoppedException e)
        {
            // The input stays leased by this worker until it stops (then it is given back), and whoever takes it records the run's end.
            Report(new StoreException($"An outcome could not be recorded: {e.InnerException?.Message ?? e.Message}", e.InnerException ?? e));
        }
    }

    private async Task DrainAsync(bool stopped)
    {
        var running = Task.WhenAll(_watchers.Values);
        if (stopped && _options.DrainTimeout > TimeSpan.Zero)
        {
            await Task.WhenAny(running, Task.Delay(_options.DrainTimeout)).ConfigureAwait(false);
        }

        // The runs left stop resumably; their watchers give their inputs back.
        _shuttingDown = true;
        await Engine.DisposeAsync().ConfigureAwait(false);
        await Task.WhenAll(_watchers.Values).ConfigureAwait(false);
    }

    private INode ReadInput(string json)
        => JsonSerializer.Deserialize(json, _graph.Start, InputOptions) as INode
            ?? throw new JsonException("The input is null.");
}

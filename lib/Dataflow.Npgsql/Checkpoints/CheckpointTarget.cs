using Dataflow.Checkpoints;
using Dataflow.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Dataflow.Npgsql.Checkpoints;

/// <summary>One row for the checkpoint writer: a checkpoint (every column in its stored form) or a graph description.</summary>
internal sealed class CheckpointWrite
{
    public required string RunId { get; init; }

    public int Seq { get; init; }

    public required string SessionId { get; init; }

    public required string Graph { get; init; }

    public required string Fingerprint { get; init; }

    public required string State { get; init; }

    public int Step { get; init; }

    public required string NodeType { get; init; }

    public required string Node { get; init; }

    public string? Trace { get; init; }

    public string? Gates { get; init; }

    public bool GatesResolved { get; init; }

    public int GateNumber { get; init; }

    public int Iterations { get; init; }

    public string? Options { get; init; }

    public string? Error { get; init; }

    public string? RerunOf { get; init; }

    public string? Parent { get; init; }

    public int ChildNumber { get; init; }

    public string? Children { get; init; }

    public DateTime Timestamp { get; init; }

    /// <summary>For a graph description: the description (then <see cref="Node"/> and the run fields are unused).</summary>
    public string? Description { get; init; }

    /// <summary>For a run's start checkpoint made by a worker: the queue item the run is for (see <see cref="QueueItemScope"/>).</summary>
    public long? QueueItem { get; init; }
}

/// <summary>
/// The PostgreSQL side of the checkpoint writer: writes one batch in one transaction on a pooled connection, as one
/// round trip of set-based statements over arrays (<c>unnest</c>): each run's latest checkpoint of the batch into
/// <c>checkpoints</c>, the runs whose state it changes into <c>durable_runs</c>, new graph descriptions, and the queue
/// items whose runs start in this batch. An earlier checkpoint of the same run in the same batch is superseded before
/// it was ever committed, so it is not written (as in the SQLite store). Called from the writer's loop only.
/// </summary>
/// <remarks>
/// <para><c>durable_runs</c> holds each run's state and the sequence of the checkpoint that set it: a run's latest
/// checkpoint is found by its highest sequence, so a checkpoint that leaves a run's state as it was (Running after
/// Running, most of them) writes no <c>durable_runs</c> row. The target remembers which runs it last committed as
/// Running (<see cref="_running"/>; a run leaves that set with its next other state); a run it does not know (resumed,
/// say) gets its row written. A run of a queue item gets a row only once it is not Running (waiting, or ended): while
/// it runs, its leased item stands for it, so resume beside workers does not see it, and whoever takes the item over
/// reads the run's checkpoints by its id.</para>
/// <para>While a worker serves the queue from this store (<see cref="QueueWorker"/>), every checkpoint of a run tied to
/// a queue item is written only while that worker leases the item (fencing), and a run's final checkpoint also records
/// its item's final state and result, in the same statement round trip and transaction: the item is final exactly when
/// its run's end is committed, and only if that worker still holds its lease (a worker whose lease was taken over
/// changes nothing). So a worker's runs need no outcome write of their own. Which item a run is for comes from
/// <see cref="Ties"/> (the start checkpoint's item, or the worker's take-over), so each of these looks its item up by
/// primary key.</para>
/// </remarks>
internal sealed partial class CheckpointTarget(PostgresDatabase database) : IBatchTarget<CheckpointWrite>
{
    private readonly Dictionary<string, CheckpointWrite> _latest = new(StringComparer.Ordinal);

    /// <summary>The runs whose <c>durable_runs</c> row, as this target last committed it, says Running (writer loop only).</summary>
    private readonly HashSet<string> _running = new(StringComparer.Ordinal);
    private volatile string? _queueWorker;

    /// <summary>The worker whose queue items the final checkpoints finish; null when no worker serves the queue from this store.</summary>
    public string? QueueWorker
    {
        get => _queueWorker;
        set => _queueWorker = value;
    }

    /// <summary>Which queue item each of the serving worker's runs is for.</summary>
    public QueueTies Ties { get; } = new();

    public async ValueTask WriteBatchAsync(IReadOnlyList<CheckpointWrite> batch, CancellationToken cancellationToken)
    {
        _latest.Clear();
        List<CheckpointWrite>? graphs = null;
        List<CheckpointWrite>? items = null;
        foreach (var write in batch)
        {
            if (write.Description is not null)
            {
                (graphs ??= []).Add(write);
                continue;
            }

            if (write.QueueItem is { } item)
            {
                (items ??= []).Add(write);
                Ties.Tie(write.RunId, item);
            }

            if (!_latest.TryGetValue(write.RunId, out var earlier) || earlier.Seq < write.Seq)
            {
                _latest[write.RunId] = write;
            }
        }

        var doing = $"write a batch of {batch.Count} checkpoints to";
        try
        {
            var connection = await database.OpenWriterAsync(doing, cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                try
                {
                    await WriteAsync(connection, graphs, items, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception) when (database.DiscardWriters())
                {
                    throw;
                }
            }

            Committed();
        }
        catch (NpgsqlException ex)
        {
            throw database.Error(ex, doing);
        }
        finally
        {
            _latest.Clear();
        }
    }

    public bool IsTransient(Exception exception) => exception is StoreUnavailableException;

    private static bool IsFinal(CheckpointWrite write)
        => write.State is nameof(CheckpointState.Done) or nameof(CheckpointState.Failed) or nameof(CheckpointState.Cancelled);

    /// <summary>
    /// Sends the batch's statements in one round trip. They run in one transaction without a BEGIN or a COMMIT of their
    /// own: Npgsql sends a batch as one pipeline with a single Sync at its end, and PostgreSQL runs everything before a
    /// Sync in one implicit transaction, committed at the Sync (or rolled back whole when a statement fails). The batch
    /// returns once the server answered that Sync, so a checkpoint's waiters go on only after its commit, as with an
    /// explicit transaction, at one round trip and two statements less per batch.
    /// </summary>
    private async Task WriteAsync(NpgsqlConnection connection, List<CheckpointWrite>? graphs, List<CheckpointWrite>? items, CancellationToken cancellationToken)
    {
        var statements = new NpgsqlBatch(connection);
        await using (statements.ConfigureAwait(false))
        {
            if (graphs is not null)
            {
                statements.BatchCommands.Add(Graphs(graphs));
            }

            // Read once: every statement of the batch is fenced on the same worker (or none).
            var worker = QueueWorker;
            if (items is not null)
            {
                statements.BatchCommands.Add(Items(items, worker));
            }

            if (_latest.Count > 0)
            {
                var rows = _latest.Values.ToArray();
                var rowItems = worker is null ? null : Array.ConvertAll(rows, w => Ties.ItemOf(w.RunId));
                statements.BatchCommands.Add(Checkpoints(rows, rowItems, worker));
                if (StateChanges(rows, rowItems) is { Count: > 0 } changes)
                {
                    statements.BatchCommands.Add(Runs(changes, worker));
                }

                if (worker is not null && Finals(rows, rowItems!) is { Count: > 0 } finals)
                {
                    statements.BatchCommands.Add(Finish(finals, worker));
                }
            }

            await statements.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The batch's rows that change their run's <c>durable_runs</c> row (see the remarks), with their items.</summary>
    private List<(CheckpointWrite Write, long? Item)> StateChanges(CheckpointWrite[] rows, long?[]? items)
    {
        var changes = new List<(CheckpointWrite, long?)>(rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            // A Running run of a queue item is tracked by its item (leased): resume beside workers leaves it alone, a take-over reads its checkpoints.
            if (rows[i].State != nameof(CheckpointState.Running) || (items?[i] is null && !_running.Contains(rows[i].RunId)))
            {
                changes.Add((rows[i], items?[i]));
            }
        }

        return changes;
    }

    /// <summary>The batch's final checkpoints of runs tied to queue items (a final one is always its run's latest).</summary>
    private static List<(CheckpointWrite Write, long Item)> Finals(CheckpointWrite[] rows, long?[] items)
    {
        var finals = new List<(CheckpointWrite, long)>();
        for (var i = 0; i < rows.Length; i++)
        {
            if (items[i] is { } item && IsFinal(rows[i]))
            {
                finals.Add((rows[i], item));
            }
        }

        return finals;
    }

    /// <summary>After a commit: which runs' rows now say Running, and which runs ended (their ties go).</summary>
    private void Committed()
    {
        foreach (var write in _latest.Values)
        {
            if (write.State == nameof(CheckpointState.Running))
            {
                _running.Add(write.RunId);
            }
            else
            {
                _running.Remove(write.RunId);
                if (IsFinal(write))
                {
                    Ties.Untie(write.RunId);
                }
            }
        }
    }
}

using Dataflow.Checkpoints;
using Dataflow.Engine;

namespace Dataflow.Npgsql.Jobs;

/// <summary>Taking over: the inputs a dead (or stopped) worker had started.</summary>
public sealed partial class Worker
{
    /// <summary>Inputs whose runs another worker started: resume the unfinished runs, record the finished ones.</summary>
    private async Task TakeOverAsync(List<ClaimedItem> items, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return;
        }

        // Tied before they resume, so that their first checkpoints are fenced on these leases and their ends finish these items.
        foreach (var item in items)
        {
            _store.CheckpointStore.Tie(item.RunId!, item.Id);
        }

        ResumeResult resumed;
        try
        {
            resumed = await Engine.ResumeAsync(_graph, [.. items.Select(i => i.RunId!)], CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is CheckpointException or ArgumentException)
        {
            foreach (var item in items)
            {
                _store.CheckpointStore.Untie(item.RunId!);
            }

            // This worker cannot run these runs (another graph version, say): give them back for a worker that can, and stop.
            foreach (var item in items)
            {
                await FinishAsync(new ItemOutcome(item.Id, null, null, null)).ConfigureAwait(false);
            }

            throw;
        }

        var byRun = resumed.Resumed.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var rest = new List<ClaimedItem>();
        foreach (var item in items)
        {
            if (byRun.TryGetValue(item.RunId!, out var run))
            {
                Watch(item, run);
            }
            else if (Engine.Get(item.RunId!) is { State: RunState.Running or RunState.Waiting })
            {
                // Its own run, still going here after its lease lapsed and came back: the watcher it has records it.
                _slots.Release();
            }
            else
            {
                // Its run ended (or has no checkpoint): recorded below, from the run's last checkpoint.
                _store.CheckpointStore.Untie(item.RunId!);
                rest.Add(item);
            }
        }

        if (rest.Count == 0)
        {
            return;
        }

        var final = (await _store.CheckpointStore.LoadLatestAsync([.. rest.Select(i => i.RunId!)], cancellationToken).ConfigureAwait(false))
            .ToDictionary(c => c.RunId, StringComparer.Ordinal);
        foreach (var item in rest)
        {
            var checkpoint = final.GetValueOrDefault(item.RunId!);
            await FinishAsync(checkpoint switch
            {
                { State: CheckpointState.Done } => new ItemOutcome(item.Id, "done", checkpoint.Node, null),
                { State: CheckpointState.Failed } => new ItemOutcome(item.Id, "failed", null, checkpoint.Error),
                { State: CheckpointState.Cancelled } => new ItemOutcome(item.Id, "cancelled", null, checkpoint.Error),
                _ => new ItemOutcome(item.Id, null, null, null),
            }).ConfigureAwait(false);
        }
    }
}

using Dataflow.Storage;

namespace Dataflow.Npgsql.Jobs;

/// <summary>The worker's background parts: the heartbeat, the pause between empty claims, error reports, and the outcome writer's target.</summary>
public sealed partial class Worker
{
    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.Heartbeat!.Value, cancellationToken).ConfigureAwait(false);
                await _queue.RenewAsync(Id, _options.Lease, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (StoreException e)
            {
                Report(e);
            }
        }
    }

    private async Task PauseAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private void Report(StoreException error)
    {
        try
        {
            _options.OnError?.Invoke(error);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A listener's own failure must not stop the worker's loops.
        }
    }

    /// <summary>Writes a batch of outcomes in one transaction.</summary>
    private sealed class OutcomeTarget(JobQueue queue, string workerId) : IBatchTarget<ItemOutcome>
    {
        public async ValueTask WriteBatchAsync(IReadOnlyList<ItemOutcome> batch, CancellationToken cancellationToken)
            => await queue.WriteOutcomesAsync(workerId, batch, cancellationToken).ConfigureAwait(false);

        public bool IsTransient(Exception exception) => exception is StoreUnavailableException;
    }
}

using Dataflow.Storage;

namespace Dataflow.Sqlite.Tests;

/// <summary>The shared batch writer with a target of the test's own: the contract a second backend relies on.</summary>
public sealed class BatchWriterTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Test]
    public async Task TransientFailures_AreRetriedUntilTheyPass_AndShowAsAStall()
    {
        var target = new ScriptedTarget { TransientFailuresLeft = 2 };
        var failures = new List<BatchWriteFailure>();
        await using var writer = new BatchWriter<int>(target, new BatchWriterOptions { MaxAttempts = 1, OnFailure = f => { lock (failures) { failures.Add(f); } } });
        target.OnFailure = () => target.Stalls.Add(writer.Health.StalledSince);

        for (var i = 0; i < 10; i++)
        {
            await writer.EnqueueAsync(i);
        }

        await writer.FlushAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(target.Written, Is.EqualTo(Enumerable.Range(0, 10)));
            Assert.That(writer.Health, Is.EqualTo(new BatchWriterHealth(0, 10, 2, 0, null, null, false)));
            Assert.That(failures.Select(f => (f.Transient, f.Attempt, f.RetryIn is not null)), Is.EqualTo(new[] { (true, 1, true), (true, 2, true) }));
        }
    }

    [Test]
    public async Task OtherFailures_StopTheWriterAfterMaxAttempts_CountingWhatIsLost()
    {
        var target = new ScriptedTarget { FatalFailures = true };
        var gaveUp = new TaskCompletionSource<BatchWriteFailure>(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = new BatchWriter<int>(target, new BatchWriterOptions { MaxAttempts = 2, OnFailure = f => { if (f.RetryIn is null) { gaveUp.TrySetResult(f); } throw new InvalidOperationException("a listener that throws"); } });

        await writer.EnqueueAsync(1);
        var flush = writer.FlushAsync();
        var failure = await gaveUp.Task.WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failure.Lost, Is.EqualTo(1));
            Assert.That(failure.Attempt, Is.EqualTo(2));
            Assert.That(async () => await flush.WaitAsync(Guard), Throws.TypeOf<BatchWriterStoppedException>());
            Assert.That(() => writer.TryEnqueue(2), Throws.TypeOf<BatchWriterStoppedException>().With.InnerException.Message.EqualTo("disk on fire"));
            Assert.That(writer.Health.Stopped, Is.True);
            Assert.That(writer.Unwritten, Is.EqualTo(1));
        }

        await writer.DisposeAsync();
    }

    [Test]
    public async Task DisposeAsync_DrainsTheQueue_ThenRejectsUse()
    {
        var target = new ScriptedTarget();
        var writer = new BatchWriter<int>(target, new BatchWriterOptions { BatchSize = 7, FlushInterval = TimeSpan.FromHours(1) });
        for (var i = 0; i < 100; i++)
        {
            Assert.That(writer.TryEnqueue(i), Is.True);
        }

        await writer.DisposeAsync().AsTask().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(target.Written, Is.EqualTo(Enumerable.Range(0, 100)));
            Assert.That(target.LargestBatch, Is.EqualTo(7));
            Assert.That(() => writer.TryEnqueue(1), Throws.TypeOf<ObjectDisposedException>());
        }
    }

    private sealed class ScriptedTarget : IBatchTarget<int>
    {
        public List<int> Written { get; } = [];

        public List<DateTimeOffset?> Stalls { get; } = [];

        public int TransientFailuresLeft { get; set; }

        public bool FatalFailures { get; init; }

        public int LargestBatch { get; private set; }

        public Action? OnFailure { get; set; }

        public ValueTask WriteBatchAsync(IReadOnlyList<int> batch, CancellationToken cancellationToken)
        {
            if (FatalFailures)
            {
                throw new IOException("disk on fire");
            }

            if (TransientFailuresLeft > 0)
            {
                TransientFailuresLeft--;
                OnFailure?.Invoke();
                throw new TimeoutException("busy");
            }

            Written.AddRange(batch);
            LargestBatch = Math.Max(LargestBatch, batch.Count);
            return default;
        }

        public bool IsTransient(Exception exception) => exception is TimeoutException;
    }
}

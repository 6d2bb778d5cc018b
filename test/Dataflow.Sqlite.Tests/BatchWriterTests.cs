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
    public async Task StoppedError_IsWhatPendingCommitsAndLaterCallsFailWith()
    {
        var target = new ScriptedTarget { FatalFailures = true };
        await using var writer = new BatchWriter<int>(target, new BatchWriterOptions
        {
            MaxAttempts = 1,
            StoppedError = error => new IOException($"store.db stopped: {error.Message}", error),
        });

        var commit = writer.WriteAsync(1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(async () => await commit.WaitAsync(Guard), Throws.TypeOf<IOException>().With.Message.EqualTo("store.db stopped: disk on fire").And.InnerException.Message.EqualTo("disk on fire"));
            Assert.That(() => writer.TryEnqueue(2), Throws.TypeOf<IOException>().With.Message.EqualTo("store.db stopped: disk on fire"));
            Assert.That(async () => await writer.WriteAsync(3).WaitAsync(Guard), Throws.TypeOf<IOException>());
            Assert.That(writer.Health.Stopped, Is.True);
        }
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

    [Test]
    public async Task ManyProducers_OnASmallQueue_EveryAcceptedItemIsWrittenOnce_InEachProducersOrder()
    {
        // Eight producers on a queue of 16: most writes find it full and wait for room; a third wait for their commit.
        var target = new ScriptedTarget();
        await using var writer = new BatchWriter<int>(target, new BatchWriterOptions { BatchSize = 5, QueueCapacity = 16, FlushInterval = TimeSpan.FromMilliseconds(1) });
        const int Producers = 8, PerProducer = 2_000;
        var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < PerProducer; i++)
            {
                var item = (p * PerProducer) + i;
                if (i % 3 == 0)
                {
                    await writer.WriteAsync(item);
                    Assert.That(writer.Written, Is.GreaterThan(0), "a write completed before anything was committed");
                }
                else if (i % 3 == 1 && writer.TryEnqueue(item))
                {
                }
                else
                {
                    await writer.EnqueueAsync(item);
                }

                if (i % 500 == 499)
                {
                    await writer.FlushAsync();
                }
            }
        })).ToArray();
        await Task.WhenAll(producers).WaitAsync(Guard);
        await writer.FlushAsync().WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(target.Written, Is.EquivalentTo(Enumerable.Range(0, Producers * PerProducer)));
            for (var p = 0; p < Producers; p++)
            {
                var own = target.Written.Where(item => item / PerProducer == p).ToList();
                Assert.That(own, Is.Ordered, $"producer {p}'s items were written out of order");
            }

            Assert.That(target.LargestBatch, Is.LessThanOrEqualTo(5));
            Assert.That(writer.Health.Queued, Is.Zero);
        }
    }

    [Test]
    public async Task ProducersWaitingForRoom_WhenTheWriterIsDisposed_AreWrittenOrRefused_NothingAcceptedIsLost()
    {
        var target = new ScriptedTarget { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var writer = new BatchWriter<int>(target, new BatchWriterOptions { BatchSize = 2, QueueCapacity = 4, FlushInterval = TimeSpan.Zero });
        var accepted = new System.Collections.Concurrent.ConcurrentBag<int>();
        var refused = 0;
        var producers = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            try
            {
                await writer.EnqueueAsync(i);
                accepted.Add(i);
            }
            catch (ObjectDisposedException)
            {
                Interlocked.Increment(ref refused);
            }
        })).ToArray();

        // The target holds its first batch until the writer is being disposed: the queue is full and producers wait.
        await target.Entered.Task.WaitAsync(Guard);
        var disposing = writer.DisposeAsync().AsTask();
        target.Gate.TrySetResult();
        await disposing.WaitAsync(Guard);
        await Task.WhenAll(producers).WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(target.Written, Is.EquivalentTo(accepted), "every accepted item, and only those, was written");
            Assert.That(accepted.Count + refused, Is.EqualTo(40));
            Assert.That(refused, Is.GreaterThan(0), "some producers were still waiting for room when the writer closed");
        }
    }

    [Test]
    public async Task CancellingAWaitForRoom_LeavesTheItemOut()
    {
        var target = new ScriptedTarget { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var writer = new BatchWriter<int>(target, new BatchWriterOptions { BatchSize = 1, QueueCapacity = 1, FlushInterval = TimeSpan.Zero });
        await writer.EnqueueAsync(1);
        await target.Entered.Task.WaitAsync(Guard);
        Assert.That(writer.TryEnqueue(2), Is.True);
        using var cancel = new CancellationTokenSource();
        var waiting = writer.EnqueueAsync(3, cancel.Token).AsTask();
        Assert.That(waiting.IsCompleted, Is.False, "the queue is full, so the third item waits for room");
        await cancel.CancelAsync();

        Assert.That(async () => await waiting.WaitAsync(Guard), Throws.InstanceOf<OperationCanceledException>());
        target.Gate.TrySetResult();
        await writer.FlushAsync().WaitAsync(Guard);
        Assert.That(target.Written, Is.EqualTo(new[] { 1, 2 }));
    }

    private sealed class ScriptedTarget : IBatchTarget<int>
    {
        public List<int> Written { get; } = [];

        public List<DateTimeOffset?> Stalls { get; } = [];

        public int TransientFailuresLeft { get; set; }

        public bool FatalFailures { get; init; }

        public int LargestBatch { get; private set; }

        public Action? OnFailure { get; set; }

        /// <summary>When set, the first batch waits for it (after <see cref="Entered"/>), holding the loop.</summary>
        public TaskCompletionSource? Gate { get; init; }

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask WriteBatchAsync(IReadOnlyList<int> batch, CancellationToken cancellationToken)
        {
            if (Gate is { } gate)
            {
                Entered.TrySetResult();
                await gate.Task.ConfigureAwait(false);
            }

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
        }

        public bool IsTransient(Exception exception) => exception is TimeoutException;
    }
}

using Dataflow.Engine;
using NUnit.Framework;

namespace Dataflow.Tests.Engine;

/// <summary>The admission gate on real threads: never more holders than slots, waiters served in order, no wake lost.</summary>
[TestFixture]
public sealed class AdmissionGateTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    [Test]
    public async Task ManyEnterers_NeverHoldMoreThanTheSlots_AndAllGetIn()
    {
        const int Slots = 3, Workers = 8, Rounds = 5_000;
        var gate = new AdmissionGate(Slots);
        var holding = 0;
        var most = 0;
        var entered = 0;
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < Rounds; i++)
            {
                if (!((w + i) % 4 == 0 && gate.TryEnter()))
                {
                    await gate.EnterAsync(CancellationToken.None);
                }

                var now = Interlocked.Increment(ref holding);
                InterlockedMax(ref most, now);
                Interlocked.Increment(ref entered);
                if (i % 7 == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref holding);
                gate.Leave();
            }
        })).ToArray();

        await Task.WhenAll(workers).WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(entered, Is.EqualTo(Workers * Rounds));
            Assert.That(most, Is.InRange(1, Slots));
            Assert.That(gate.Free, Is.EqualTo(Slots), "every slot came back");
        }
    }

    [Test]
    public async Task Waiters_AreServedInTheOrderTheyCame()
    {
        var gate = new AdmissionGate(1);
        Assert.That(gate.TryEnter(), Is.True);
        var order = new List<int>();
        var waiters = new List<Task>();
        for (var i = 0; i < 5; i++)
        {
            var id = i;
            var entering = gate.EnterAsync(CancellationToken.None).AsTask();
            Assert.That(entering.IsCompleted, Is.False, $"waiter {id} found the one slot taken");
            waiters.Add(entering.ContinueWith(
                _ =>
                {
                    lock (order)
                    {
                        order.Add(id);
                    }

                    gate.Leave();
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default));
        }

        gate.Leave();
        await Task.WhenAll(waiters).WaitAsync(Guard);

        Assert.That(order, Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(gate.Free, Is.EqualTo(1));
    }

    [Test]
    public async Task ACancelledWaiter_HoldsNoSlot_AndTheOthersStillGetIn()
    {
        // Waiters cancelled at random moments, some just as a slot frees for them: a wake meant for a cancelled
        // waiter must pass to the next, or the ones left would wait forever (the guard would fail the test).
        const int Slots = 2, Waiters = 400;
        var gate = new AdmissionGate(Slots);
        var random = new Random(7);
        var cancelled = 0;
        var entered = 0;
        var tasks = Enumerable.Range(0, Waiters).Select(i =>
        {
            var cancel = new CancellationTokenSource();
            var after = random.Next(0, 3);
            return Task.Run(async () =>
            {
                var entering = gate.EnterAsync(cancel.Token).AsTask();
                if (i % 3 == 0)
                {
                    await Task.Delay(after);
                    await cancel.CancelAsync();
                }

                try
                {
                    await entering;
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                    return;
                }
                finally
                {
                    cancel.Dispose();
                }

                Interlocked.Increment(ref entered);
                await Task.Yield();
                gate.Leave();
            });
        }).ToArray();

        await Task.WhenAll(tasks).WaitAsync(Guard);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(entered + cancelled, Is.EqualTo(Waiters));
            Assert.That(entered, Is.GreaterThanOrEqualTo(Waiters * 2 / 3), "every waiter not cancelled got in");
            Assert.That(gate.Free, Is.EqualTo(Slots), "a cancelled waiter holds no slot");
        }
    }

    [Test]
    public async Task AWaiterCancelledJustAfterItWasWoken_PassesTheWakeToTheNext()
    {
        var gate = new AdmissionGate(1);
        Assert.That(gate.TryEnter(), Is.True);
        using var cancel = new CancellationTokenSource();
        var first = gate.EnterAsync(cancel.Token).AsTask();
        var second = gate.EnterAsync(CancellationToken.None).AsTask();

        // The wake completes the first waiter's signal, whose continuation runs on the pool; the cancellation right
        // after it usually wins. Either way the slot must reach the second waiter: no more Leave comes to wake it.
        gate.Leave();
#pragma warning disable CA1849 // Cancel, not CancelAsync: the cancellation must run inline, before the wake's continuation.
        cancel.Cancel();
#pragma warning restore CA1849
        try
        {
            await first.WaitAsync(Guard);
            gate.Leave();
        }
        catch (OperationCanceledException)
        {
        }

        await second.WaitAsync(Guard);
        Assert.That(gate.Free, Is.Zero, "the second waiter holds the one slot");
    }

    [Test]
    public void AnAlreadyCancelledToken_IsRefused_EvenWithASlotFree()
    {
        var gate = new AdmissionGate(1);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.That(async () => await gate.EnterAsync(cancel.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(gate.Free, Is.EqualTo(1));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

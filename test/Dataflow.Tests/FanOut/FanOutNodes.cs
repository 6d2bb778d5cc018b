using System.Collections.Concurrent;
using Dataflow.Graphs;
using Dataflow.Graphs.Resilience;

namespace Dataflow.Tests.FanOut;

/// <summary>What the nodes of a test report back: children started, joins called, and a signal once enough children run.</summary>
public sealed class FanOutProbe(int signalAt = int.MaxValue)
{
    private readonly TaskCompletionSource _enough = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _joins;
    private int _inFlight;
    private int _peakInFlight;

    public int Started => Volatile.Read(ref _started);

    public int Joins => Volatile.Read(ref _joins);

    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    /// <summary>Finishes once <c>signalAt</c> children have started.</summary>
    public Task Enough => _enough.Task;

    public ConcurrentQueue<string> ChildRunIds { get; } = new();

    public void ChildStarted(string runId)
    {
        ChildRunIds.Enqueue(runId);
        var inFlight = Interlocked.Increment(ref _inFlight);
        var peak = Volatile.Read(ref _peakInFlight);
        while (inFlight > peak && Interlocked.CompareExchange(ref _peakInFlight, inFlight, peak) != peak)
        {
            peak = Volatile.Read(ref _peakInFlight);
        }

        if (Interlocked.Increment(ref _started) >= signalAt)
        {
            _enough.TrySetResult();
        }
    }

    public void ChildLeft() => Interlocked.Decrement(ref _inFlight);

    public void Joined() => Interlocked.Increment(ref _joins);
}

/// <summary>How a line behaves: succeeds (after a delay), throws, or waits for its token.</summary>
public enum LineMode
{
    Succeed,
    Throw,
    Hang,
}

// An order fans out to its lines; the join totals them and goes on to a terminal.
public sealed record Order(int Lines, FanOutProbe Probe, int MaxInFlight = 2, FanOutPolicy Policy = FanOutPolicy.FailFast, Func<int, LineMode>? Modes = null, bool ReverseDelays = false)
    : INode<FanOut<PriceLine, LinePrice, Total>>
{
    public ValueTask<FanOut<PriceLine, LinePrice, Total>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new FanOut<PriceLine, LinePrice, Total>(
            Enumerable.Range(0, Lines).Select(i => new PriceLine(i, Modes?.Invoke(i) ?? LineMode.Succeed, ReverseDelays ? Lines - i : 0, Probe)),
            results =>
            {
                Probe.Joined();
                return new Total(
                    [.. results.Select(r => r.Result?.Index ?? -1)],
                    [.. results.Failures.Select(f => f.Index)],
                    [.. results.Select(r => r.RunId)],
                    results.Values.Sum(v => v.Cents));
            })
        {
            MaxInFlight = MaxInFlight,
            Policy = Policy,
        });
}

public sealed record PriceLine(int Index, LineMode Mode, int DelayMs, FanOutProbe Probe) : INode<LinePrice>
{
    public async ValueTask<LinePrice> RunAsync(NodeContext context)
    {
        Probe.ChildStarted(context.RunId);
        try
        {
            if (DelayMs > 0)
            {
                await Task.Delay(DelayMs, context.CancellationToken);
            }
            else
            {
                await Task.Yield();
            }

            return Mode switch
            {
                LineMode.Throw => throw new InvalidOperationException($"line {Index} has no price"),
                LineMode.Hang => await HangAsync(context.CancellationToken),
                _ => new LinePrice(Index, Index * 10),
            };
        }
        finally
        {
            Probe.ChildLeft();
        }
    }

    private static async Task<LinePrice> HangAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new InvalidOperationException("unreachable");
    }
}

public sealed record LinePrice(int Index, int Cents) : INode;

public sealed record Total(int[] Indexes, int[] Failed, string[] ChildIds, int Cents) : INode<Invoiced>
{
    public ValueTask<Invoiced> RunAsync(NodeContext context) => ValueTask.FromResult(new Invoiced(this));
}

public sealed record Invoiced(Total Total) : INode;

// The same fan-out with a recovery route on the node that fans out.
[RecoverWith(typeof(OrderRescued))]
public sealed record RescuedOrder(int Lines, FanOutProbe Probe) : INode<FanOut<PriceLine, LinePrice, Total>>
{
    public ValueTask<FanOut<PriceLine, LinePrice, Total>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new FanOut<PriceLine, LinePrice, Total>(
            Enumerable.Range(0, Lines).Select(i => new PriceLine(i, i == 1 ? LineMode.Throw : LineMode.Hang, 0, Probe)),
            results =>
            {
                Probe.Joined();
                return new Total([], [], [], 0);
            }));
}

public sealed record OrderRescued(NodeFailure Failure) : INode;

// Nested: a batch fans out to orders, each of which fans out to its lines.
public sealed record Batch(int Orders, int LinesEach, FanOutProbe Probe, int MaxInFlight = 2) : INode<FanOut<Order, Invoiced, BatchTotal>>
{
    public ValueTask<FanOut<Order, Invoiced, BatchTotal>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new FanOut<Order, Invoiced, BatchTotal>(
            Enumerable.Range(0, Orders).Select(_ => new Order(LinesEach, Probe, MaxInFlight)),
            results => new BatchTotal(results.Count, results.Values.Sum(v => v.Total.Cents))) { MaxInFlight = MaxInFlight });
}

public sealed record BatchTotal(int Orders, int Cents) : INode;

// A fan-out inside a cycle: each round fans out, its join decides whether to go round again.
public interface IRoundStep : INode;

public sealed record Round(int Number, int Rounds, int Width, FanOutProbe Probe, int Cents = 0) : INode<FanOut<PriceLine, LinePrice, RoundJoin>>, IRoundStep
{
    public ValueTask<FanOut<PriceLine, LinePrice, RoundJoin>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new FanOut<PriceLine, LinePrice, RoundJoin>(
            Enumerable.Range(0, Width).Select(i => new PriceLine(i, LineMode.Succeed, 0, Probe)),
            results => new RoundJoin(this, results.Values.Sum(v => v.Cents))) { MaxInFlight = 2 });
}

public sealed record RoundJoin(Round Round, int Cents) : INode<IRoundStep>
{
    public ValueTask<IRoundStep> RunAsync(NodeContext context)
        => ValueTask.FromResult<IRoundStep>(Round.Number + 1 < Round.Rounds
            ? Round with { Number = Round.Number + 1, Cents = Round.Cents + Cents }
            : new RoundsDone(Round.Number + 1, Round.Cents + Cents));
}

public sealed record RoundsDone(int Rounds, int Cents) : IRoundStep;

// A subgraph: a document runs the OCR graph as one step and stores its text.
public sealed record Document(string Text, LineMode Mode = LineMode.Succeed, FanOutProbe? Probe = null) : INode<Subgraph<Ocr, Recognized, Stored>>
{
    public ValueTask<Subgraph<Ocr, Recognized, Stored>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new Subgraph<Ocr, Recognized, Stored>(new Ocr(Text, Mode, Probe), recognized => new Stored(recognized.Text.Length, recognized.Text)));
}

public sealed record Ocr(string Text, LineMode Mode, FanOutProbe? Probe) : INode<Recognized>
{
    public async ValueTask<Recognized> RunAsync(NodeContext context)
    {
        Probe?.ChildStarted(context.RunId);
        await Task.Yield();
        return Mode switch
        {
            LineMode.Throw => throw new InvalidOperationException("unreadable scan"),
            LineMode.Hang => await Hang(context.CancellationToken),
            _ => new Recognized(Text.ToUpperInvariant()),
        };
    }

    private static async Task<Recognized> Hang(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new InvalidOperationException("unreachable");
    }
}

public sealed record Recognized(string Text) : INode;

public sealed record Stored(int Length, string Text) : INode;

// Broken declarations, for the build-time checks.
public sealed record WrongResult : INode<FanOut<PriceLine, Recognized, Invoiced>>
{
    public ValueTask<FanOut<PriceLine, Recognized, Invoiced>> RunAsync(NodeContext context) => throw new NotSupportedException();
}

public abstract record AbstractLine : INode;

public sealed record AbstractChildren : INode<FanOut<AbstractLine, LinePrice, Invoiced>>
{
    public ValueTask<FanOut<AbstractLine, LinePrice, Invoiced>> RunAsync(NodeContext context) => throw new NotSupportedException();
}

// A subgraph of plain data, which a durable graph could store.
public sealed record Scanned(string Text) : INode<Subgraph<PlainOcr, PlainText, PlainText>>
{
    public ValueTask<Subgraph<PlainOcr, PlainText, PlainText>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new Subgraph<PlainOcr, PlainText, PlainText>(new PlainOcr(Text), text => text));
}

public sealed record PlainOcr(string Text) : INode<PlainText>
{
    public ValueTask<PlainText> RunAsync(NodeContext context) => ValueTask.FromResult(new PlainText(Text));
}

public sealed record PlainText(string Text) : INode;

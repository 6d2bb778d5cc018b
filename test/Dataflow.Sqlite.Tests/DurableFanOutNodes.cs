using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Sqlite.Tests;

/// <summary>
/// What the durable fan-out tests' nodes did, per test key: executions per (item, node), and holds that keep chosen
/// items executing (until released or cancelled) so that a test can stop the engine with children in flight.
/// </summary>
public static class FanOutLog
{
    private static readonly ConcurrentDictionary<string, ConcurrentDictionary<string, int>> Runs = new();
    private static readonly ConcurrentDictionary<string, Hold> Holds = new();

    public static void Ran(string key, string what) => Runs.GetOrAdd(key, _ => new()).AddOrUpdate(what, 1, (_, n) => n + 1);

    public static int Count(string key, string what) => Runs.TryGetValue(key, out var runs) ? runs.GetValueOrDefault(what) : 0;

    public static IReadOnlyDictionary<string, int> All(string key) => Runs.TryGetValue(key, out var runs) ? new Dictionary<string, int>(runs) : [];

    /// <summary>From now on, items of <paramref name="key"/> in round <paramref name="round"/> from index <paramref name="from"/> hold.</summary>
    public static Hold HoldFrom(string key, int round, int from, int expected) => Holds[key] = new Hold(round, from, expected);

    public static Task HoldIfAsked(string key, int round, int index, CancellationToken cancellationToken)
        => Holds.TryGetValue(key, out var hold) && hold.Round == round && index >= hold.From ? hold.EnterAsync(cancellationToken) : Task.CompletedTask;

    public sealed class Hold(int round, int from, int expected)
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _holding;

        public int Round => round;

        public int From => from;

        /// <summary>Completes once <c>expected</c> items hold.</summary>
        public Task Reached => _reached.Task;

        public void Release() => _released.TrySetResult();

        public Task EnterAsync(CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _holding) == expected)
            {
                _reached.TrySetResult();
            }

            return _released.Task.WaitAsync(cancellationToken);
        }
    }
}

/// <summary>A parent that fans out over its items, round after round (a fan-out inside a cycle), joining at <see cref="Tally"/>.</summary>
public sealed record Basket(string Key, int Items, int Rounds = 1, int Round = 0, FanOutPolicy Policy = FanOutPolicy.Settle, int FailEvery = 0)
    : INode<FanOut<Item, Priced, Tally>>, ITallyNext
{
    public ValueTask<FanOut<Item, Priced, Tally>> RunAsync(NodeContext context)
    {
        FanOutLog.Ran(Key, $"basket {Round}");
        return ValueTask.FromResult(new FanOut<Item, Priced, Tally>(Enumerable.Range(0, Items).Select(i => new Item(Key, Round, i, FailEvery > 0 && i % FailEvery == FailEvery - 1)))
        {
            Policy = Policy,
            MaxInFlight = 2,
        });
    }
}

public sealed record Item(string Key, int Round, int Index, bool Fails) : INode<Priced>
{
    public async ValueTask<Priced> RunAsync(NodeContext context)
    {
        FanOutLog.Ran(Key, $"item {Round}.{Index}");
        await FanOutLog.HoldIfAsked(Key, Round, Index, context.CancellationToken);
        return Fails ? throw new InvalidOperationException($"item {Index} is out of stock") : new Priced(Index, context.RunId, (Index + 1) * 10);
    }
}

public sealed record Priced(int Index, string RunId, int Cents) : INode;

/// <summary>The join: made from the children's results by its constructor (as a durable graph needs), restored from its JSON.</summary>
public sealed record Tally : INode<ITallyNext>
{
    [JsonConstructor]
    public Tally(int[] indexes, string[] childIds, int cents, string[] failures)
    {
        Indexes = indexes;
        ChildIds = childIds;
        Cents = cents;
        Failures = failures;
    }

    public Tally(FanOutResults<Priced> results)
        : this(
            [.. results.Values.Select(v => v.Index)],
            [.. results.Select(r => r.RunId)],
            results.Values.Sum(v => v.Cents),
            [.. results.Failures.Select(f => $"{f.Index}: {f.Error!.GetType().Name}: {f.Error.Message}")])
    {
    }

    public int[] Indexes { get; }

    public string[] ChildIds { get; }

    public int Cents { get; }

    public string[] Failures { get; }

    [Recall]
    public Basket? Basket { get; set; }

    public ValueTask<ITallyNext> RunAsync(NodeContext context)
    {
        var basket = Basket!;
        FanOutLog.Ran(basket.Key, $"tally {basket.Round}");
        return ValueTask.FromResult<ITallyNext>(basket.Round + 1 < basket.Rounds
            ? (ITallyNext)(basket with { Round = basket.Round + 1 })
            : new Receipt(basket.Key, Indexes, ChildIds, Cents, Failures));
    }
}

public interface ITallyNext : INode;

public sealed record Receipt(string Key, int[] Indexes, string[] ChildIds, int Cents, string[] Failures) : ITallyNext;

/// <summary>A parent whose children wait at a gate each.</summary>
public sealed record Survey(string Key, int Questions) : INode<FanOut<Question, Answer, Answers>>
{
    public ValueTask<FanOut<Question, Answer, Answers>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new FanOut<Question, Answer, Answers>(Enumerable.Range(0, Questions).Select(i => new Question(Key, i))) { MaxInFlight = Questions });
}

public sealed record Question(string Key, int Index) : INode<Answer>
{
    [Gate("Yes?")]
    public bool Yes { get; set; }

    public ValueTask<Answer> RunAsync(NodeContext context)
    {
        FanOutLog.Ran(Key, $"question {Index}");
        return ValueTask.FromResult(new Answer(Index, Yes));
    }
}

public sealed record Answer(int Index, bool Yes) : INode;

public sealed record Answers : INode
{
    [JsonConstructor]
    public Answers(bool[] yes) => Yes = yes;

    public Answers(FanOutResults<Answer> results)
        : this([.. results.Values.Select(a => a.Yes)])
    {
    }

    public bool[] Yes { get; }
}

/// <summary>A parent that runs another durable graph as one step.</summary>
public sealed record Letter(string Key, string Text) : INode<Subgraph<Spell, Spelled, Posted>>
{
    public ValueTask<Subgraph<Spell, Spelled, Posted>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new Subgraph<Spell, Spelled, Posted>(new Spell(Key, Text)));
}

public sealed record Spell(string Key, string Text) : INode<Spelled>
{
    public async ValueTask<Spelled> RunAsync(NodeContext context)
    {
        FanOutLog.Ran(Key, "spell");
        await FanOutLog.HoldIfAsked(Key, 0, 0, context.CancellationToken);
        return new Spelled(Text.ToUpperInvariant());
    }
}

public sealed record Spelled(string Text) : INode;

public sealed record Posted(Spelled Spelled) : INode;

/// <summary>Returns its fan-out with a join function, which a durable graph cannot checkpoint.</summary>
public sealed record Hasty(string Key) : INode<FanOut<Item, Priced, Tally>>
{
    public ValueTask<FanOut<Item, Priced, Tally>> RunAsync(NodeContext context)
        => ValueTask.FromResult(new FanOut<Item, Priced, Tally>([new Item(Key, 0, 0, false)], results => new Tally(results)));
}

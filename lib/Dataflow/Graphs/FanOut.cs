namespace Dataflow.Graphs;

/// <summary>How a fan-out treats a child run that does not end Done.</summary>
public enum FanOutPolicy
{
    /// <summary>
    /// The first child that fails (or is cancelled) cancels its siblings, no further child starts, and the join is not
    /// called: the parent fails with <c>ChildRunFailedException</c>, or takes its node's recovery route.
    /// </summary>
    FailFast,

    /// <summary>Every child runs to its end; the join receives every result and every failure.</summary>
    Settle,
}

/// <summary>
/// What a node returns to fan out: child runs, one per start node of <see cref="Children"/>, in the same graph and the
/// same compiled network, and the join that receives their results (in item order) and continues the parent run.
/// Declare it as the node's successor: <c>INode&lt;FanOut&lt;TChild, TResult, TJoin&gt;&gt;</c>.
/// </summary>
/// <remarks>
/// The parent waits outside its network, holding no node slot and no admission slot, while at most
/// <see cref="MaxInFlight"/> of its children are in flight; children are taken from <see cref="Children"/> one at a
/// time as earlier ones end, so a lazy sequence (<c>items.Select(i =&gt; new Child(i))</c>) keeps memory bounded by that
/// bound, not by the number of items. Each child takes an admission slot of the graph like any run.
/// </remarks>
/// <typeparam name="TChild">The start node type of the children (a node type of the same graph).</typeparam>
/// <typeparam name="TResult">
/// What the children end at: every terminal node type reachable from <typeparamref name="TChild"/> must be one (checked
/// when the graph is created).
/// </typeparam>
/// <typeparam name="TJoin">The join node type (or a choice of them): the parent's next node.</typeparam>
public sealed class FanOut<TChild, TResult, TJoin> : INode, IChildRunRequest
    where TChild : INode
    where TResult : INode
    where TJoin : INode
{
    private readonly Func<FanOutResults<TResult>, TJoin>? _join;
    private readonly FanOutPolicy _policy = FanOutPolicy.FailFast;
    private readonly int _maxInFlight = 16;

    /// <summary>Creates a fan-out.</summary>
    /// <param name="children">The children's start nodes, in item order; enumerated lazily, once.</param>
    /// <param name="join">Makes the join node from the children's results; it must not return null.</param>
    public FanOut(IEnumerable<TChild> children, Func<FanOutResults<TResult>, TJoin> join)
    {
        ArgumentNullException.ThrowIfNull(children);
        ArgumentNullException.ThrowIfNull(join);
        Children = children;
        _join = join;
    }

    /// <summary>
    /// Creates a fan-out whose join is made by <typeparamref name="TJoin"/>'s public constructor that takes a
    /// <see cref="FanOutResults{TResult}"/>: the form a durable graph needs (<see cref="GraphOptions.Durable"/>), since a
    /// join function cannot be checkpointed and a parent resumed after a crash must still make its join.
    /// </summary>
    /// <param name="children">The children's start nodes, in item order; enumerated lazily, once (in a durable graph, at once, to be checkpointed).</param>
    public FanOut(IEnumerable<TChild> children)
    {
        ArgumentNullException.ThrowIfNull(children);
        Children = children;
    }

    /// <summary>The children's start nodes, in item order.</summary>
    public IEnumerable<TChild> Children { get; }

    /// <summary>What a child that does not end Done does to the fan-out.</summary>
    /// <value>The default value is <see cref="FanOutPolicy.FailFast"/>.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a <see cref="FanOutPolicy"/>.</exception>
    public FanOutPolicy Policy
    {
        get => _policy;
        init => _policy = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(Policy), value, $"Policy is {(int)value}, which is not a FanOutPolicy.");
    }

    /// <summary>The most children of this fan-out in flight at once (from admission to their end).</summary>
    /// <value>The default value is 16.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int MaxInFlight
    {
        get => _maxInFlight;
        init => _maxInFlight = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(MaxInFlight), value, $"MaxInFlight is {value}; a fan-out needs at least 1 child in flight.");
    }

    IEnumerable<INode> IChildRunRequest.Children => Children as IEnumerable<INode> ?? Children.Cast<INode>();

    bool IChildRunRequest.HasJoinFunction => _join is not null;

    INode? IChildRunRequest.Join(ChildOutcomes outcomes, ChildShape shape)
        => _join is null ? shape.MakeJoin(outcomes) : _join(new FanOutResults<TResult>(outcomes));

    /// <inheritdoc/>
    public override string ToString() => $"FanOut<{typeof(TChild).Name}> ({Policy}, at most {MaxInFlight} in flight)";
}

/// <summary>
/// What a node returns to run another graph as one step: a child run of <typeparamref name="TStart"/>'s graph (with
/// that graph's own options) from <see cref="Start"/>; once it is Done, the function given turns its result into the
/// parent's next node. Declare it as the node's successor: <c>INode&lt;Subgraph&lt;TStart, TResult, TNext&gt;&gt;</c>.
/// The child graph is the one registered with <see cref="GraphOptions.Subgraph"/>, or else created from
/// <typeparamref name="TStart"/> with default options.
/// </summary>
/// <remarks>
/// A child that fails or is cancelled fails the parent with <c>ChildRunFailedException</c> (or routes it to its node's
/// recovery node); cancelling the parent cancels the child.
/// </remarks>
/// <typeparam name="TStart">The start node type of the other graph.</typeparam>
/// <typeparam name="TResult">What the other graph ends at: every terminal node type of it must be one.</typeparam>
/// <typeparam name="TNext">The parent's next node type (or a choice of them).</typeparam>
public sealed class Subgraph<TStart, TResult, TNext> : INode, IChildRunRequest
    where TStart : INode
    where TResult : INode
    where TNext : INode
{
    private readonly Func<TResult, TNext>? _then;

    /// <summary>Creates the step.</summary>
    /// <param name="start">The child run's start node.</param>
    /// <param name="then">Makes the parent's next node from the child's result; it must not return null.</param>
    public Subgraph(TStart start, Func<TResult, TNext> then)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(then);
        Start = start;
        _then = then;
    }

    /// <summary>
    /// Creates the step with the parent's next node made by <typeparamref name="TNext"/>'s public constructor that takes
    /// the child's result: the form a durable graph needs (<see cref="GraphOptions.Durable"/>), since a function cannot
    /// be checkpointed.
    /// </summary>
    /// <param name="start">The child run's start node.</param>
    public Subgraph(TStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        Start = start;
    }

    /// <summary>The child run's start node.</summary>
    public TStart Start { get; }

    IEnumerable<INode> IChildRunRequest.Children => [Start];

    FanOutPolicy IChildRunRequest.Policy => FanOutPolicy.FailFast;

    int IChildRunRequest.MaxInFlight => 1;

    bool IChildRunRequest.HasJoinFunction => _then is not null;

    INode? IChildRunRequest.Join(ChildOutcomes outcomes, ChildShape shape)
        => _then is null ? shape.MakeJoin(outcomes) : _then((TResult)outcomes.Result(0)!);

    /// <inheritdoc/>
    public override string ToString() => $"Subgraph<{typeof(TStart).Name}>";
}

/// <summary>What the engine reads from a <see cref="FanOut{TChild, TResult, TJoin}"/> or <see cref="Subgraph{TStart, TResult, TNext}"/>.</summary>
internal interface IChildRunRequest
{
    IEnumerable<INode> Children { get; }

    FanOutPolicy Policy { get; }

    int MaxInFlight { get; }

    /// <summary>Whether the join is a function given by the user (which a checkpoint cannot hold) rather than a constructor.</summary>
    bool HasJoinFunction { get; }

    /// <summary>The parent's next node, made from the children's outcomes (user code: it may throw).</summary>
    INode? Join(ChildOutcomes outcomes, ChildShape shape);
}

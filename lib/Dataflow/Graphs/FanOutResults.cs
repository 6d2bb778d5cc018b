using System.Collections;
using System.Globalization;

namespace Dataflow.Graphs;

/// <summary>
/// What a fan-out's join receives: one <see cref="ChildResult{TResult}"/> per child, in item order, and which failed.
/// </summary>
/// <typeparam name="TResult">What the children end at.</typeparam>
public sealed class FanOutResults<TResult> : IReadOnlyList<ChildResult<TResult>>
    where TResult : INode
{
    private readonly ChildOutcomes _outcomes;

    internal FanOutResults(ChildOutcomes outcomes)
    {
        _outcomes = outcomes;
    }

    /// <summary>How many children ran (for a fail-fast fan-out whose join is called, all of them).</summary>
    public int Count => _outcomes.Count;

    /// <summary>How many children did not end Done.</summary>
    public int FailedCount => _outcomes.FailedCount;

    /// <summary>The results of the children that ended Done, in item order.</summary>
    public IReadOnlyList<TResult> Values => [.. this.Where(c => c.Succeeded).Select(c => c.Result!)];

    /// <summary>The children that did not end Done, in item order.</summary>
    public IReadOnlyList<ChildResult<TResult>> Failures => [.. _outcomes.FailedIndexes().Select(i => this[i])];

    /// <summary>The outcome of the child of item <paramref name="index"/>.</summary>
    /// <param name="index">The item's position, from 0.</param>
    public ChildResult<TResult> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
            var error = _outcomes.Error(index);
            return new ChildResult<TResult>(index, _outcomes.ChildId(index), error is null ? (TResult)_outcomes.Result(index)! : default, error);
        }
    }

    /// <inheritdoc/>
    public IEnumerator<ChildResult<TResult>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The outcome of one child run of a fan-out.</summary>
/// <typeparam name="TResult">What the children end at.</typeparam>
/// <param name="Index">The item's position, from 0.</param>
/// <param name="RunId">The child run's id, such as <c>g7/3</c>.</param>
/// <param name="Result">The terminal node it ended at, when it ended Done; else the default.</param>
/// <param name="Error">Why it failed or was cancelled; <see langword="null"/> when it ended Done.</param>
public readonly record struct ChildResult<TResult>(int Index, string RunId, TResult? Result, Exception? Error)
    where TResult : INode
{
    /// <summary>Whether the child ended Done.</summary>
    public bool Succeeded => Error is null;
}

/// <summary>
/// The children's outcomes as the engine records them, compactly: a result per child, errors only for those that failed,
/// and ids made from the parent's id when asked. Written only by the fan-out that owns it, under its lock; read by the
/// join once every child has ended.
/// </summary>
internal sealed class ChildOutcomes(string parentId, int firstNumber)
{
    private readonly List<INode?> _results = [];
    private SortedDictionary<int, Exception>? _errors;

    public int Count => _results.Count;

    public int FailedCount => _errors?.Count ?? 0;

    /// <summary>Makes room for the next child.</summary>
    public void Add() => _results.Add(null);

    public void Done(int index, INode? result) => _results[index] = result;

    public void Failed(int index, Exception error) => (_errors ??= [])[index] = error;

    public INode? Result(int index) => _results[index];

    public Exception? Error(int index) => _errors?.GetValueOrDefault(index);

    public IEnumerable<int> FailedIndexes() => _errors?.Keys ?? Enumerable.Empty<int>();

    /// <summary>The id of the child of item <paramref name="index"/>: the parent's id, a slash and the child's number.</summary>
    public string ChildId(int index) => string.Create(CultureInfo.InvariantCulture, $"{parentId}/{firstNumber + index}");
}

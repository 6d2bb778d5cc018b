using System.Globalization;

namespace Dataflow.Engine;

/// <summary>
/// One fan-out or subgraph of a run, as its trace summary shows it (<see cref="GraphRun.Children"/>): which node started
/// the children, their ids and how many ended each way so far. A snapshot.
/// </summary>
/// <param name="Node">The node that returned the fan-out or subgraph.</param>
/// <param name="ChildStart">The children's start node type's name.</param>
/// <param name="IsSubgraph">Whether the child runs another graph (a subgraph) rather than a fan-out of this one.</param>
/// <param name="IdPrefix">The children's ids are this, a slash and a number, such as <c>g7/</c>.</param>
/// <param name="FirstNumber">The first child's number; the others follow it in item order.</param>
/// <param name="Started">How many children have started.</param>
/// <param name="Done">How many ended Done.</param>
/// <param name="Failed">How many ended Failed.</param>
/// <param name="Cancelled">How many ended Cancelled.</param>
public sealed record ChildRunGroup(string Node, string ChildStart, bool IsSubgraph, string IdPrefix, int FirstNumber, int Started, int Done, int Failed, int Cancelled)
{
    /// <summary>The children's ids, in item order.</summary>
    public IEnumerable<string> ChildIds => Enumerable.Range(FirstNumber, Started).Select(n => string.Create(CultureInfo.InvariantCulture, $"{IdPrefix}{n}"));

    /// <summary>How many children are still in flight.</summary>
    public int Running => Started - Done - Failed - Cancelled;

    /// <inheritdoc/>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Node} {(IsSubgraph ? "subgraph" : "fan-out")} -> {ChildStart}: {Started} children ({IdPrefix}{FirstNumber}..{IdPrefix}{FirstNumber + Started - 1}), {Done} done, {Failed} failed, {Cancelled} cancelled");
}

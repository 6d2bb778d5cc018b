using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// Marks a type as a node of a graph. A type that implements only this interface is a
/// <em>terminal</em> node: reaching it ends the run, and the node becomes the run's result.
/// </summary>
/// <remarks>
/// Nodes carry their own data; records are a natural fit. A node that continues the run
/// implements <see cref="INode{TNext}"/> instead.
/// </remarks>
public interface INode;

/// <summary>
/// A node that continues the run: <see cref="RunAsync"/> returns the next node.
/// </summary>
/// <typeparam name="TNext">
/// The successor type. A concrete node type names a single successor; an interface or an abstract
/// base type names a choice, and every concrete node type behind it becomes a successor.
/// </typeparam>
public interface INode<TNext> : INode
    where TNext : INode
{
    /// <summary>Does this node's work and returns the next node of the run.</summary>
    /// <param name="context">The run's identity, cancellation and iteration count.</param>
    /// <returns>The next node; never <see langword="null"/>.</returns>
    ValueTask<TNext> RunAsync(NodeContext context);
}

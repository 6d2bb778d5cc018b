using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// Declares that a node type blocks its thread (synchronous I/O, CPU-bound work, locks).
/// The engine runs blocking nodes on dedicated threads (one per unit of the node's parallelism, at most 256,
/// started as needed), so that they cannot starve the thread pool that asynchronous nodes and the engine need.
/// </summary>
/// <remarks>The same can be declared without the attribute through <see cref="NodeOptions.Blocking"/>.</remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = true, AllowMultiple = false)]
public sealed class BlockingNodeAttribute : Attribute;

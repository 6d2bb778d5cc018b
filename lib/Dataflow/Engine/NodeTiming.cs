using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Engine;

/// <summary>One node execution (one attempt of it) of a run, timed with a monotonic clock.</summary>
/// <param name="Node">The node's name in the graph.</param>
/// <param name="NodeType">The node's type.</param>
/// <param name="Start">When the node started (the run's start time plus monotonic elapsed time).</param>
/// <param name="End">When the node ended.</param>
/// <param name="DurationMs">The monotonic duration in milliseconds.</param>
/// <param name="Attempt">Which attempt of the node's visit this was, from 1; a retried node has one timing per attempt.</param>
public readonly record struct NodeTiming(string Node, Type NodeType, DateTimeOffset Start, DateTimeOffset End, double DurationMs, int Attempt = 1);

/// <summary>One dependency computed for a run, timed with a monotonic clock.</summary>
/// <param name="Name">The dependency's name (its type name, or the service type's).</param>
/// <param name="DurationMs">How long it took, in milliseconds.</param>
public sealed record DependencyTiming(string Name, double DurationMs);

using Dataflow.Graphs;

namespace Dataflow.Graphs.Inputs;

/// <summary>
/// Computes a node input, once per run. An implementation may itself have <see cref="DepAttribute"/> properties:
/// they are filled first (dependencies are transitive). It is created per run through the engine's
/// <see cref="IServiceProvider"/> when that has one, otherwise through its parameterless constructor.
/// </summary>
/// <typeparam name="T">The value it computes.</typeparam>
public interface IDependency<T>
{
    /// <summary>Computes the value.</summary>
    /// <param name="context">The run's identity and cancellation.</param>
    /// <returns>The value.</returns>
    ValueTask<T> ResolveAsync(NodeContext context);
}

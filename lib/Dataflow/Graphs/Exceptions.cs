using Dataflow.Graphs.Inputs;

namespace Dataflow.Graphs;

/// <summary>
/// A graph failed validation when it was built. <see cref="Exception.Message"/> lists every problem,
/// each naming its node; <see cref="Errors"/> holds them one by one.
/// </summary>
public sealed class InvalidGraphException : DataflowException
{
    /// <summary>Creates the exception from a list of problems.</summary>
    /// <param name="errors">The problems, each naming its node.</param>
    public InvalidGraphException(IReadOnlyList<string> errors)
        : base(Format(errors))
    {
        Errors = errors;
    }

    /// <summary>Every problem found, each naming its node.</summary>
    public IReadOnlyList<string> Errors { get; }

    private static string Format(IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Count == 1
            ? "Invalid graph: " + errors[0]
            : $"Invalid graph ({errors.Count} problems):{Environment.NewLine}- " + string.Join(Environment.NewLine + "- ", errors);
    }
}

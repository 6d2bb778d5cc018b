namespace Dataflow.Engine.Resilience;

/// <summary>What a retry policy does when it does not say (<see cref="Dataflow.Graphs.Resilience.RetryPolicy.ShouldRetry"/> is null).</summary>
public static class RetryDefaults
{
    /// <summary>
    /// The default predicate: every failure except the library's own contract errors (<see cref="NodeContractException"/>,
    /// <see cref="IterationLimitExceededException"/>, <see cref="RecallException"/>, <see cref="DependencyException"/>),
    /// which another attempt cannot cure. Cancellation of the run itself is never retried in any case.
    /// </summary>
    /// <param name="error">What the attempt threw.</param>
    /// <returns>Whether to try again.</returns>
    public static bool ShouldRetry(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error is not (NodeContractException or IterationLimitExceededException or RecallException or DependencyException);
    }
}

namespace Dataflow.Extensions.Hosting;

/// <summary>Where the hosted engine is in its life, shared by the hosted service and the health check.</summary>
internal sealed class EngineLifetime
{
    private int _stopping;

    /// <summary>Whether the application is stopping: the engine is draining and new runs are not expected.</summary>
    public bool IsStopping => Volatile.Read(ref _stopping) != 0;

    public void BeginStopping() => Volatile.Write(ref _stopping, 1);
}

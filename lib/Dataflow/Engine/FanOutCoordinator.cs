using Dataflow.Graphs;

namespace Dataflow.Engine;

/// <summary>
/// Parks runs whose node returned a fan-out or a subgraph: each gets a <see cref="FanOutWait"/>, which owns it while its
/// children run (holding no node slot and no admission slot) and then continues it at the join or ends it. Why this
/// cannot deadlock against admission or per-node bounds is in the <see cref="GraphNetwork"/> header.
/// </summary>
internal sealed class FanOutCoordinator(RunLifecycle lifecycle)
{
    /// <summary>Takes an executing run out of its network while the children of <paramref name="request"/> run in <paramref name="network"/>.</summary>
    public void Park(RunExecution run, NetworkStep step, INode node, IChildRunRequest request, GraphNetwork network)
    {
        var wait = new FanOutWait(lifecycle, run, step, node, request, network);
        run.AddFanOut(wait);
        run.ParkForChildren();
        if (lifecycle.IsShuttingDown)
        {
            // Disposal cancels the runs that waited when it began, not this one: its children would find the networks closing.
            run.RequestCancel();
        }

        lifecycle.Background.Track(wait.RunAsync());
    }

    /// <summary>
    /// Parks a run restored waiting for children (from its checkpoint): <paramref name="resumed"/> says where each child
    /// stood. The run is AwaitingChildren already and holds no admission slot.
    /// </summary>
    public void Resume(RunExecution run, NetworkStep step, INode node, Checkpoints.ResumedFanOut resumed)
    {
        var wait = new FanOutWait(lifecycle, run, step, node, resumed, resumed.Network, resumed);
        run.AddFanOut(wait);
        if (lifecycle.IsShuttingDown)
        {
            run.RequestCancel();
        }

        lifecycle.Background.Track(wait.RunAsync());
    }
}

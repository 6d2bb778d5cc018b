using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using Dataflow.Engine;
using Dataflow.Events;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Bench.Workloads;

/// <summary>What one fan-out measurement saw.</summary>
internal sealed record FanoutFigures(double EventsPerSecond, long Lost, double Seconds);

/// <summary>
/// Producers publish the events of many runs (start, two transitions, complete) into several sinks that count and
/// check every event: through an <see cref="EventHub"/>, against a raw BroadcastBlock linked to unbounded ActionBlocks.
/// The same sink code, the same events, the same producers on both sides.
/// </summary>
internal static class FanoutWorkload
{
    public static int Producers => Math.Max(2, Environment.ProcessorCount);

    /// <param name="events">Events to publish, in total over the producers; each reaches every sink.</param>
    /// <param name="sinkCount">How many sinks.</param>
    /// <param name="spinTicks">Busy work per event in each sink.</param>
    /// <param name="capacity">Each sink's capacity in the hub.</param>
    public static async Task<FanoutFigures> RunHubAsync(int events, int sinkCount, long spinTicks = 0, int capacity = 1024)
    {
        var runsPerProducer = RunsPerProducer(events);
        var hub = new EventHub();
        var sinks = Enumerable.Range(0, sinkCount).Select(_ => new CheckingSink(Producers, spinTicks)).ToArray();
        var registrations = sinks.Select((s, i) => hub.AddSink(s, new SinkOptions { Name = "sink" + i, Capacity = capacity })).ToArray();
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
        {
            foreach (var graphEvent in CheckingSink.RunEvents(p, runsPerProducer))
            {
                await hub.PublishAsync(graphEvent);
            }
        })));
        await hub.DisposeAsync();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var published = (long)runsPerProducer * CheckingSink.EventsPerRun * Producers;
        var lost = Lost(sinks, published) + registrations.Sum(r => r.Dropped + r.Failures);
        return new FanoutFigures(published / seconds, lost, seconds);
    }

    public static async Task<FanoutFigures> RunBroadcastBlockAsync(int events, int sinkCount, long spinTicks = 0)
    {
        var runsPerProducer = RunsPerProducer(events);
        var broadcast = new BroadcastBlock<GraphEvent>(cloningFunction: null);
        var sinks = Enumerable.Range(0, sinkCount).Select(_ => new CheckingSink(Producers, spinTicks)).ToArray();
        var targets = sinks.Select(s => new ActionBlock<GraphEvent>(s.Consume)).ToArray();
        foreach (var target in targets)
        {
            broadcast.LinkTo(target, new DataflowLinkOptions { PropagateCompletion = true });
        }

        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, Producers).Select(p => Task.Run(() =>
        {
            foreach (var graphEvent in CheckingSink.RunEvents(p, runsPerProducer))
            {
                broadcast.Post(graphEvent);
            }
        })));
        broadcast.Complete();
        await Task.WhenAll(targets.Select(t => t.Completion));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var published = (long)runsPerProducer * CheckingSink.EventsPerRun * Producers;
        return new FanoutFigures(published / seconds, Lost(sinks, published), seconds);
    }

    private static int RunsPerProducer(int events) => Math.Max(1, events / CheckingSink.EventsPerRun / Producers);

    private static long Lost(CheckingSink[] sinks, long published)
        => sinks.Sum(s => Math.Abs(published - s.Count) + s.OutOfOrder);
}

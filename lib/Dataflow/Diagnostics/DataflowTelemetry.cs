using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Dataflow.Diagnostics;

/// <summary>
/// The library's one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named
/// <c>Dataflow</c>. OpenTelemetry (<c>AddSource("Dataflow")</c>, <c>AddMeter("Dataflow")</c>) and
/// dotnet-counters pick them up with no code in the library. Nothing is measured while nobody listens.
/// </summary>
public static class DataflowTelemetry
{
    /// <summary>The name of the activity source and the meter.</summary>
    public const string Name = "Dataflow";

    private static readonly string Version = typeof(DataflowTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Spans: <c>dataflow.run</c> per run, <c>dataflow.node</c> per node execution.</summary>
    public static readonly ActivitySource ActivitySource = new(Name, Version);

    internal static readonly Meter Meter = new(Name, Version);

    internal static readonly Counter<long> RunsStarted = Meter.CreateCounter<long>("dataflow.runs.started", "{run}", "Runs submitted and admitted.");

    internal static readonly Counter<long> RunsCompleted = Meter.CreateCounter<long>("dataflow.runs.completed", "{run}", "Runs that reached a final state, tagged with dataflow.outcome (done, failed, cancelled).");

    internal static readonly Counter<long> RunsFailed = Meter.CreateCounter<long>("dataflow.runs.failed", "{run}", "Runs that ended as Failed.");

    internal static readonly Histogram<double> RunDuration = Meter.CreateHistogram<double>("dataflow.run.duration", "ms", "Time from submit to final state.");

    internal static readonly Histogram<double> NodeDuration = Meter.CreateHistogram<double>("dataflow.node.duration", "ms", "Time one node took, tagged with dataflow.node.");

    internal static readonly Counter<long> NodeRetries = Meter.CreateCounter<long>("dataflow.node.retries", "{attempt}", "Failed attempts that are retried after a backoff, tagged with dataflow.node.");

    internal static readonly Counter<long> EventsEmitted = Meter.CreateCounter<long>("dataflow.events.emitted", "{event}", "Events published to the hub that at least one sink accepted.");

    internal static readonly Counter<long> EventsDropped = Meter.CreateCounter<long>("dataflow.events.dropped", "{event}", "Events a lossy sink dropped, tagged with dataflow.sink.");

    internal static readonly Counter<long> SinkFailures = Meter.CreateCounter<long>("dataflow.sink.failures", "{event}", "Events a sink threw on, tagged with dataflow.sink.");

    internal static readonly UpDownCounter<long> SinkQueueDepth = Meter.CreateUpDownCounter<long>("dataflow.sink.queue_depth", "{event}", "Events waiting for sinks, tagged with dataflow.sink.");
}

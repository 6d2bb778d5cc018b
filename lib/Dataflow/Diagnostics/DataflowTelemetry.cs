using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Dataflow.Diagnostics;

/// <summary>
/// The library's one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named
/// <c>Dataflow</c>. OpenTelemetry (<c>AddSource("Dataflow")</c>, <c>AddMeter("Dataflow")</c>) and
/// dotnet-counters pick them up with no code in the library. Nothing is measured while nobody listens.
/// </summary>
/// <remarks>
/// Names follow OpenTelemetry's semantic conventions where one applies: durations are histograms in seconds
/// (unit <c>s</c>), counts are counters with a <c>{run}</c>, <c>{execution}</c>, <c>{attempt}</c> or <c>{event}</c>
/// unit, attribute names are namespaced <c>dataflow.*</c>, and a failure carries <c>error.type</c> on its span. The
/// attributes each instrument and span carries are listed in the README and on <c>Dataflow.OpenTelemetry</c>.
/// </remarks>
public static class DataflowTelemetry
{
    /// <summary>The name of the activity source and the meter.</summary>
    public const string Name = "Dataflow";

    private static readonly string Version = typeof(DataflowTelemetry).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// Spans: <c>dataflow.run</c> per run; under it <c>dataflow.node</c> per node attempt (from resolving its inputs to
    /// its result); under that <c>dataflow.dependency</c> per dependency computed for it.
    /// </summary>
    public static readonly ActivitySource ActivitySource = new(Name, Version);

    internal static readonly Meter Meter = new(Name, Version);

    /// <summary>Bucket advice for node durations, in seconds: from 100 µs (an in-process step) to a minute.</summary>
    private static readonly double[] NodeBuckets = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>Bucket advice for run durations, in seconds: from a millisecond to an hour.</summary>
    private static readonly double[] RunBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    internal static readonly Counter<long> RunsStarted = Meter.CreateCounter<long>("dataflow.runs.started", "{run}", "Runs submitted and admitted.");

    internal static readonly Counter<long> RunsCompleted = Meter.CreateCounter<long>("dataflow.runs.completed", "{run}", "Runs that reached a final state, tagged with dataflow.outcome (done, failed, cancelled).");

    internal static readonly Counter<long> RunsFailed = Meter.CreateCounter<long>("dataflow.runs.failed", "{run}", "Runs that ended as Failed.");

    internal static readonly Histogram<double> RunDuration = Meter.CreateHistogram(
        "dataflow.run.duration",
        "s",
        "Time from submit to final state, tagged with dataflow.outcome.",
        tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = RunBuckets });

    internal static readonly Histogram<double> NodeDuration = Meter.CreateHistogram(
        "dataflow.node.duration",
        "s",
        "Time one attempt of a node's RunAsync took, tagged with dataflow.node.",
        tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = NodeBuckets });

    internal static readonly Counter<long> NodeExecutions = Meter.CreateCounter<long>("dataflow.node.executions", "{execution}", "Attempts of a node's RunAsync that returned or threw, tagged with dataflow.node and dataflow.outcome (ok, failed, cancelled).");

    internal static readonly Counter<long> NodeRetries = Meter.CreateCounter<long>("dataflow.node.retries", "{attempt}", "Failed attempts that are retried after a backoff, tagged with dataflow.node.");

    internal static readonly Counter<long> EventsEmitted = Meter.CreateCounter<long>("dataflow.events.emitted", "{event}", "Events published to the hub that at least one sink accepted.");

    internal static readonly Counter<long> EventsDropped = Meter.CreateCounter<long>("dataflow.events.dropped", "{event}", "Events a lossy sink dropped, tagged with dataflow.sink.");

    internal static readonly Counter<long> SinkFailures = Meter.CreateCounter<long>("dataflow.sink.failures", "{event}", "Events a sink threw on, tagged with dataflow.sink.");

    internal static readonly UpDownCounter<long> SinkQueueDepth = Meter.CreateUpDownCounter<long>("dataflow.sink.queue_depth", "{event}", "Events waiting for sinks, tagged with dataflow.sink.");
}

using System.Diagnostics;
using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Dataflow.Cli.Telemetry;

/// <summary>
/// <c>run --otlp &lt;endpoint&gt;</c>: exports the batch's traces and metrics (Dataflow's <c>ActivitySource</c> and
/// <c>Meter</c>) with the OTLP exporter, over OTLP/HTTP with protobuf bodies. The endpoint is the collector's base URL,
/// as <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is: traces are POSTed to <c>&lt;endpoint&gt;/v1/traces</c>, metrics to
/// <c>&lt;endpoint&gt;/v1/metrics</c>.
/// </summary>
/// <remarks>
/// <para>Spans are exported in batches while the runs go on; metrics (cumulative) once, when the batch is over.
/// <see cref="Finish"/> shuts both providers down, which exports what is left, so nothing is lost at the end of a
/// batch; it waits at most the export timeout (<c>--otlp-timeout</c>) for both together, each export request being
/// bounded by the same timeout.</para>
/// <para>An export that fails (connection refused, an error status, no answer in time) is counted, never thrown: the
/// batch ends as it would have without <c>--otlp</c>, and <see cref="Finish"/> says what could not be exported, for a
/// warning line.</para>
/// <para>The resource: <c>service.name</c> <c>dataflow</c>, <c>service.version</c>, and <c>dataflow.session_id</c> (the
/// store's session of this batch), then what <c>OTEL_SERVICE_NAME</c> and <c>OTEL_RESOURCE_ATTRIBUTES</c> say. The
/// exporter's other environment variables (<c>OTEL_EXPORTER_OTLP_HEADERS</c>, say) apply as usual; the endpoint, the
/// protocol and the timeout are the command line's.</para>
/// </remarks>
internal sealed class OtlpExport : IDisposable
{
    /// <summary>The default <c>--otlp-timeout</c>, in seconds.</summary>
    public const double DefaultTimeoutSeconds = 5;

    /// <summary>The shortest <c>--otlp-timeout</c>.</summary>
    public const double MinTimeoutSeconds = 0.1;

    /// <summary>The longest <c>--otlp-timeout</c>.</summary>
    public const double MaxTimeoutSeconds = 60;

    /// <summary>Spans that may wait for the exporter; more are dropped while the collector is slower than the runs.</summary>
    private const int MaxQueuedSpans = 16_384;

    private readonly TracerProvider _traces;
    private readonly MeterProvider _metrics;
    private readonly ObservedTraceExporter _traceExporter;
    private readonly ObservedMetricExporter _metricExporter;
    private readonly int _timeoutMs;
    private Outcome? _outcome;

    private OtlpExport(Uri endpoint, TimeSpan timeout, string sessionId)
    {
        Endpoint = endpoint;
        _timeoutMs = (int)Math.Ceiling(timeout.TotalMilliseconds);
        var version = typeof(OtlpExport).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        var resource = ResourceBuilder.CreateEmpty()
            .AddService("dataflow", serviceVersion: version, autoGenerateServiceInstanceId: true)
            .AddAttributes([new("dataflow.session_id", sessionId)])
            .AddTelemetrySdk()
            .AddEnvironmentVariableDetector();
        _traceExporter = new ObservedTraceExporter(Options(endpoint, "v1/traces", _timeoutMs));
        _metricExporter = new ObservedMetricExporter(Options(endpoint, "v1/metrics", _timeoutMs));
        _traces = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddDataflowInstrumentation()
            .AddProcessor(new BatchActivityExportProcessor(_traceExporter, MaxQueuedSpans, scheduledDelayMilliseconds: 1000, exporterTimeoutMilliseconds: _timeoutMs))
            .Build();
        _metrics = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddDataflowInstrumentation()
            .AddReader(new PeriodicExportingMetricReader(_metricExporter, exportIntervalMilliseconds: 60_000, exportTimeoutMilliseconds: _timeoutMs)
            {
                TemporalityPreference = MetricReaderTemporalityPreference.Cumulative,
            })
            .Build();
    }

    /// <summary>The collector's base URL.</summary>
    public Uri Endpoint { get; }

    /// <summary>Why <paramref name="value"/> is not a usable <c>--otlp</c> endpoint, or null when it is one.</summary>
    public static string? Problem(string value)
        => Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && !string.IsNullOrEmpty(uri.Host)
            ? null
            : $"--otlp '{value}' is not an absolute http:// or https:// URI: give the collector's OTLP/HTTP endpoint, such as http://localhost:4318.";

    /// <summary>Starts listening to Dataflow's spans and metrics, before the engine runs anything.</summary>
    public static OtlpExport Start(string endpoint, TimeSpan timeout, string sessionId) => new(new Uri(endpoint, UriKind.Absolute), timeout, sessionId);

    /// <summary>
    /// Exports what is left and shuts the providers down, waiting at most the export timeout; says what was exported
    /// and what could not be. Once: later calls return the same outcome.
    /// </summary>
    public Outcome Finish()
    {
        if (_outcome is { } done)
        {
            return done;
        }

        // One after the other on one budget, so the wait is bounded by one timeout, not two. The providers' Shutdown is
        // synchronous by design (it flushes, then stops its exporter): called as it is, no task is blocked on.
        // Metrics first: they go out once, at the end, while most spans have gone out in batches during the run.
        var started = Stopwatch.GetTimestamp();
        var metricsShut = _metrics.Shutdown(_timeoutMs);
        var left = Math.Max(0, _timeoutMs - (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        var tracesShut = _traces.Shutdown(left);
        var inTime = tracesShut && metricsShut;
        _outcome = new Outcome(
            inTime,
            new Signal(_traceExporter.Exports, _traceExporter.Failures, _traceExporter.Items),
            new Signal(_metricExporter.Exports, _metricExporter.Failures, _metricExporter.Items));
        return _outcome;
    }

    /// <summary>The warning line for an export that did not fully succeed, or null.</summary>
    public string? Warning(Outcome outcome)
    {
        if (outcome.Succeeded)
        {
            return null;
        }

        var timeout = (_timeoutMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
        var parts = new List<string>();
        if (outcome.Traces.Failures > 0)
        {
            parts.Add($"{outcome.Traces.Failures} of {outcome.Traces.Exports} trace exports failed");
        }

        if (outcome.Metrics.Failures > 0)
        {
            parts.Add($"{outcome.Metrics.Failures} of {outcome.Metrics.Exports} metric exports failed");
        }

        if (!outcome.InTime && parts.Count == 0)
        {
            parts.Add($"the final export did not finish within {timeout} s");
        }

        return $"--otlp '{Endpoint}': the batch's telemetry was not fully exported ({string.Join("; ", parts)}): the collector is unreachable, "
            + $"refused it, or did not answer within {timeout} s. The batch's result and exit code are unaffected.";
    }

    public void Dispose()
    {
        Finish();
        _traces.Dispose();
        _metrics.Dispose();
    }

    private static OtlpExporterOptions Options(Uri endpoint, string signalPath, int timeoutMs)
    {
        // Set in code, an OTLP/HTTP endpoint is used as it is: the signal's path is appended here.
        var path = endpoint.AbsolutePath.EndsWith('/') ? endpoint.AbsolutePath : endpoint.AbsolutePath + "/";
        return new OtlpExporterOptions
        {
            Endpoint = new UriBuilder(endpoint) { Path = path + signalPath }.Uri,
            Protocol = OtlpExportProtocol.HttpProtobuf,
            TimeoutMilliseconds = timeoutMs,
        };
    }

    /// <summary>What the export did: whether the final flush finished in time, and per signal, its exports.</summary>
    internal sealed record Outcome(bool InTime, Signal Traces, Signal Metrics)
    {
        public bool Succeeded => InTime && Traces.Failures == 0 && Metrics.Failures == 0;
    }

    /// <summary>Export requests of one signal, how many failed, and the spans or metrics the successful ones carried.</summary>
    internal readonly record struct Signal(long Exports, long Failures, long Items);

    /// <summary>The OTLP trace exporter, counting its exports and failures.</summary>
    private sealed class ObservedTraceExporter(OtlpExporterOptions options) : OtlpTraceExporter(options)
    {
        private long _exports;
        private long _failures;
        private long _items;

        public long Exports => Interlocked.Read(ref _exports);

        public long Failures => Interlocked.Read(ref _failures);

        public long Items => Interlocked.Read(ref _items);

        public override ExportResult Export(in Batch<Activity> batch)
        {
            var result = base.Export(batch);
            Count(result, batch.Count, ref _exports, ref _failures, ref _items);
            return result;
        }
    }

    /// <summary>The OTLP metric exporter, counting its exports and failures.</summary>
    private sealed class ObservedMetricExporter(OtlpExporterOptions options) : OtlpMetricExporter(options)
    {
        private long _exports;
        private long _failures;
        private long _items;

        public long Exports => Interlocked.Read(ref _exports);

        public long Failures => Interlocked.Read(ref _failures);

        public long Items => Interlocked.Read(ref _items);

        public override ExportResult Export(in Batch<Metric> batch)
        {
            var result = base.Export(batch);
            Count(result, batch.Count, ref _exports, ref _failures, ref _items);
            return result;
        }
    }

    private static void Count(ExportResult result, long items, ref long exports, ref long failures, ref long exported)
    {
        Interlocked.Increment(ref exports);
        if (result == ExportResult.Success)
        {
            Interlocked.Add(ref exported, items);
        }
        else
        {
            Interlocked.Increment(ref failures);
        }
    }
}

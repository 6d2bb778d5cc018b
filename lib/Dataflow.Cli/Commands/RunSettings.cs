using System.Net;
using Dataflow.Cli.History;
using Dataflow.Cli.Loading;
using Dataflow.Cli.Telemetry;
using Dataflow.Events;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Commands;

/// <summary>What a batch does: run inputs, resume the unfinished runs of a crashed batch, or rerun failed runs.</summary>
internal enum BatchMode
{
    Run,
    Resume,
    RerunFailed,
}

/// <summary>The settings of one <c>dataflow run</c> (and of <c>resume</c> and <c>rerun</c>, which share its machinery).</summary>
internal sealed record RunSettings(
    string? Assembly,
    string? Start,
    string? Input,
    int Count,
    int Parallelism,
    int MaxInFlight,
    OutputPolicy Policy,
    int MaxIterations,
    string Database,
    double ProgressIntervalSeconds,
    int MaxLineBytes,
    ServeSettings? Serve = null,
    string? Otlp = null,
    double OtlpTimeoutSeconds = OtlpExport.DefaultTimeoutSeconds,
    bool Durable = false,
    BatchMode Mode = BatchMode.Run,
    string? Session = null)
{
    /// <summary>The shortest <c>--progress-interval</c>: shorter would print progress lines faster than anyone reads them.</summary>
    public const double MinProgressSeconds = 0.05;

    /// <summary>The longest <c>--progress-interval</c>: one day.</summary>
    public const double MaxProgressSeconds = 86_400;

    /// <summary>Checks every setting, reporting all problems at once, each naming its option.</summary>
    /// <returns>The endpoint to serve the dashboard on, if asked.</returns>
    /// <exception cref="CliException">A setting is out of range or a path is unusable.</exception>
    public IPEndPoint? Validate()
    {
        var errors = new List<string>();
        var endpoint = Serve?.Endpoint(errors);
        if (Serve is not null && HistoryStores.IsPostgres(Database))
        {
            errors.Add("--serve reads SQLite stores only for now: give a SQLite --db, or run without --serve and use the read commands on PostgreSQL.");
        }

        if (Parallelism is 0 or < -1)
        {
            errors.Add($"--parallelism must be positive or -1 (unbounded), was {Parallelism}.");
        }

        if (MaxInFlight < 1)
        {
            errors.Add($"--max-in-flight must be positive, was {MaxInFlight}.");
        }

        if (MaxIterations < 0)
        {
            errors.Add($"--max-iterations must be 0 (no limit) or positive, was {MaxIterations}.");
        }

        if (Count < 0)
        {
            errors.Add($"--count must not be negative, was {Count}.");
        }

        if (!(ProgressIntervalSeconds is >= MinProgressSeconds and <= MaxProgressSeconds))
        {
            errors.Add(FormattableString.Invariant($"--progress-interval must be from {MinProgressSeconds} to {MaxProgressSeconds:0} seconds, was {ProgressIntervalSeconds:R}."));
        }

        if (MaxLineBytes is < 1 or > JsonlInputs.MaxMaxLineBytes)
        {
            errors.Add($"--max-line-bytes must be from 1 to {JsonlInputs.MaxMaxLineBytes}, was {MaxLineBytes}.");
        }

        if (Otlp is not null && OtlpExport.Problem(Otlp) is { } otlpProblem)
        {
            errors.Add(otlpProblem);
        }

        if (!(OtlpTimeoutSeconds is >= OtlpExport.MinTimeoutSeconds and <= OtlpExport.MaxTimeoutSeconds))
        {
            errors.Add(FormattableString.Invariant($"--otlp-timeout must be from {OtlpExport.MinTimeoutSeconds} to {OtlpExport.MaxTimeoutSeconds:0} seconds, was {OtlpTimeoutSeconds:R}."));
        }

        CliPaths.Check(errors, "--db", Database);
        if (Assembly is not null)
        {
            CliPaths.Check(errors, "--assembly", Assembly);
        }

        if (Input is not null and not JsonlInputs.StandardInput)
        {
            CliPaths.Check(errors, "--input", Input);
        }

        if (errors.Count > 0)
        {
            throw new CliException(errors);
        }

        return endpoint;
    }
}

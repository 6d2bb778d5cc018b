using System.CommandLine;
using System.Text.Json;
using Dataflow.Cli.History;
using Dataflow.Cli.Loading;
using Dataflow.Cli.Sample;
using Dataflow.Graphs;
using Pg = Dataflow.Npgsql;

namespace Dataflow.Cli.Commands;

/// <summary><c>dataflow submit</c>: puts a job's inputs in the PostgreSQL work queue, for <c>dataflow worker</c>s to run.</summary>
internal static class SubmitCommand
{
    public static Command Create(CliConsole console)
    {
        var assembly = new Option<string>("--assembly", "-a") { Description = "A compiled assembly (.dll) holding your graph's node types; needs --start and --input.", HelpName = "path.dll" };
        var start = new Option<string>("--start", "-s") { Description = "The start node type in --assembly, by name or full name.", HelpName = "NodeType" };
        var input = new Option<string>("--input", "-i") { Description = "Start nodes, one JSON object per line (System.Text.Json, camelCase or PascalCase); - reads standard input. Optional for the sample.", HelpName = "file.jsonl|-" };
        var count = new Option<int>("--count", "-n") { Description = "How many orders the sample generates when no --input is given.", DefaultValueFactory = _ => SampleInputs.DefaultCount };
        var job = new Option<string>("--job") { Description = "The job's name, unique in the queue (default: job-<UTC time>-<random>).", HelpName = "name" };
        var maxLine = new Option<int>("--max-line-bytes") { Description = FormattableString.Invariant($"The longest --input line accepted, in bytes (default {JsonlInputs.DefaultMaxLineBytes}, at most {JsonlInputs.MaxMaxLineBytes})."), DefaultValueFactory = _ => JsonlInputs.DefaultMaxLineBytes, HelpName = "bytes" };
        var db = Cli.DatabaseOption();
        var command = new Command("submit", "Put a job's inputs in the work queue of a PostgreSQL --db, each line checked as a start node; then start `dataflow worker`s on any machines. Exit code 1 when any input line was rejected (the others are queued).")
        {
            assembly, start, input, count, job, maxLine, db,
        };
        command.SetAction((parse, cancellationToken) => ExecuteAsync(
            console,
            parse.GetValue(assembly),
            parse.GetValue(start),
            parse.GetValue(input),
            parse.GetValue(count),
            parse.GetValue(job),
            parse.GetValue(maxLine),
            parse.GetValue(db)!,
            cancellationToken));
        return command;
    }

    private static async Task<int> ExecuteAsync(CliConsole console, string? assembly, string? start, string? input, int count, string? job, int maxLineBytes, string db, CancellationToken cancellationToken)
    {
        var errors = new List<string>();
        if (count < 0)
        {
            errors.Add($"--count must not be negative, was {count}.");
        }

        if (maxLineBytes is < 1 or > JsonlInputs.MaxMaxLineBytes)
        {
            errors.Add($"--max-line-bytes must be from 1 to {JsonlInputs.MaxMaxLineBytes}, was {maxLineBytes}.");
        }

        if (job is not null && JobNames.Problem(job) is { } problem)
        {
            errors.Add(problem);
        }

        CliPaths.Check(errors, "--db", db);
        if (input is not null and not JsonlInputs.StandardInput)
        {
            CliPaths.Check(errors, "--input", input);
        }

        if (errors.Count > 0)
        {
            throw new CliException(errors);
        }

        var source = GraphSource.Resolve(assembly, start);
        if (!source.IsSample && input is null)
        {
            throw new CliException($"--input <file.jsonl> is required with --assembly: give one {source.StartType.Name} per line.");
        }

        var graph = source.CreateGraph(new GraphOptions { Durable = true });
        var name = job ?? $"job-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..4]}";
        var reader = input is null ? null : JsonlInputs.Open(input, console);
        await using var inputLifetime = (reader ?? Stream.Null).ConfigureAwait(false);
        var queue = await HistoryStores.OpenQueueAsync(db, "submit", cancellationToken).ConfigureAwait(false);
        await using (queue.ConfigureAwait(false))
        {
            long rejected = 0;
            var nodes = reader is null
                ? SampleInputs.Generate(count).Cast<INode>().ToAsyncEnumerable()
                : JsonlInputs.ReadAsync(reader, input == JsonlInputs.StandardInput ? "stdin" : input!, source.StartType, maxLineBytes, line =>
                {
                    rejected++;
                    console.WriteWarning($"rejected {line}");
                },
                cancellationToken);
            long queued;
            try
            {
                queued = await queue.SubmitAsync(name, graph, nodes.Select(node => JsonSerializer.Serialize(node, source.StartType)), cancellationToken).ConfigureAwait(false);
            }
            catch (Pg.StoreException e)
            {
                throw HistoryStores.QueueFailure(e);
            }

            await console.Output.WriteLineAsync($"job '{TerminalText.Escape(name)}': {queued} inputs of {source.Description} queued in the {queue.Target}.").ConfigureAwait(false);
            await console.Output.WriteLineAsync($"start workers on any machine: dataflow worker --db <this database> {(source.IsSample ? string.Empty : "--assembly <dll> --start " + source.StartType.Name + " ")}--job {TerminalText.Escape(name)}").ConfigureAwait(false);
            if (rejected > 0)
            {
                await console.Error.WriteLineAsync($"exit code 1: {rejected} input lines were rejected.").ConfigureAwait(false);
                return ExitCodes.RunsFailed;
            }

            return ExitCodes.Success;
        }
    }
}

/// <summary>What a <c>--job</c> may be: the queue's own rule, checked before anything opens.</summary>
internal static class JobNames
{
    public static string? Problem(string job)
        => string.IsNullOrWhiteSpace(job) || job.Length > 200 || job.Any(char.IsControl)
            ? $"--job must be 1 to 200 characters without control characters (was {job.Length} characters)."
            : null;
}

using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataflow.Cli.History;
using Dataflow.Npgsql.Jobs;
using Pg = Dataflow.Npgsql;

namespace Dataflow.Cli.Commands;

/// <summary><c>dataflow status</c>: a job's progress across its workers, from the PostgreSQL work queue.</summary>
internal static class StatusCommand
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Create(CliConsole console)
    {
        var job = new Option<string>("--job") { Description = "The job to show; by default every job, newest first.", HelpName = "name" };
        var json = new Option<bool>("--json") { Description = "Print JSON: the jobs with their counts and their workers." };
        var db = Cli.DatabaseOption();
        var command = new Command("status", "Show the progress of the jobs in the work queue of a PostgreSQL --db: inputs queued, leased, done, failed and cancelled, and per worker what it holds and finished.") { job, json, db };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var name = parse.GetValue(job);
            if (name is not null && JobNames.Problem(name) is { } problem)
            {
                throw new CliException(problem);
            }

            var queue = await HistoryStores.OpenQueueAsync(parse.GetValue(db)!, "status", cancellationToken).ConfigureAwait(false);
            await using (queue.ConfigureAwait(false))
            {
                IReadOnlyList<JobProgress> jobs;
                List<(JobProgress Job, IReadOnlyList<WorkerProgress> Workers)> shown = [];
                try
                {
                    jobs = name is null ? await queue.JobsAsync(cancellationToken).ConfigureAwait(false) : [await queue.ProgressAsync(name, cancellationToken).ConfigureAwait(false)];
                    foreach (var j in jobs)
                    {
                        shown.Add((j, await queue.WorkersAsync(j.Job, cancellationToken).ConfigureAwait(false)));
                    }
                }
                catch (UnknownJobException e)
                {
                    throw new CliException(TerminalText.Escape(e.Message) + " `dataflow status` without --job lists the jobs there are.", e);
                }
                catch (Pg.StoreException e)
                {
                    throw HistoryStores.QueueFailure(e);
                }

                if (parse.GetValue(json))
                {
                    var array = new JsonArray([.. shown.Select(s => new JsonObject
                    {
                        ["job"] = s.Job.Job,
                        ["graph"] = s.Job.Graph,
                        ["createdAt"] = s.Job.CreatedAt,
                        ["total"] = s.Job.Total,
                        ["queued"] = s.Job.Queued,
                        ["leased"] = s.Job.Leased,
                        ["done"] = s.Job.Done,
                        ["failed"] = s.Job.Failed,
                        ["cancelled"] = s.Job.Cancelled,
                        ["finished"] = s.Job.IsFinished,
                        ["workers"] = new JsonArray([.. s.Workers.Select(w => JsonSerializer.SerializeToNode(w, Json))]),
                    })]);
                    await console.Output.WriteLineAsync(array.ToJsonString(Json)).ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                if (shown.Count == 0)
                {
                    await console.Output.WriteLineAsync($"the queue ({queue.Target}) has no jobs; `dataflow submit` puts one there.").ConfigureAwait(false);
                    return ExitCodes.Success;
                }

                var now = DateTimeOffset.UtcNow;
                foreach (var (progress, workers) in shown)
                {
                    await console.Output.WriteLineAsync(
                        $"job {TerminalText.Escape(progress.Job)} ({TerminalText.Escape(progress.Graph)}, submitted {progress.CreatedAt:u}): {progress.Total} inputs: " +
                        $"{progress.Queued} queued, {progress.Leased} leased, {progress.Done} done, {progress.Failed} failed, {progress.Cancelled} cancelled{(progress.IsFinished ? " — finished" : string.Empty)}").ConfigureAwait(false);
                    foreach (var w in workers)
                    {
                        var state = w.StoppedAt is not null ? "stopped" : $"heartbeat {(now - w.HeartbeatAt).TotalSeconds:0}s ago";
                        await console.Output.WriteLineAsync(
                            $"  worker {TerminalText.Escape(w.Id)} ({state}): {w.Leased} leased, {w.Done} done, {w.Failed} failed, {w.Cancelled} cancelled, {w.TakenOver} taken over").ConfigureAwait(false);
                    }
                }

                return ExitCodes.Success;
            }
        });
        return command;
    }
}

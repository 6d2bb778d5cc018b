using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dataflow.Checkpoints;
using Dataflow.Cli.History;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;
using Dataflow.Sqlite;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Dataflow.Cli.Commands;

/// <summary>The read commands: <c>search</c>, <c>recent</c>, <c>sessions</c>, <c>show</c>. Each opens an existing database only.</summary>
internal static class ReadCommands
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Search(CliConsole console)
    {
        var text = new Argument<string>("text") { Description = "What to look for: plain words by default (every word must match), FTS5 syntax with --fts." };
        var fts = new Option<bool>("--fts") { Description = "Read <text> as an FTS5 query: AND/OR/NOT, \"phrases\", prefix*, column:term." };
        var session = new Option<string>("--session") { Description = "Only entries of this session id." };
        var channel = new Option<string>("--channel") { Description = "Only entries of this channel, such as graph." };
        var since = new Option<string>("--since") { Description = "Only entries at or after this time: an ISO 8601 time, or an age such as 30m, 2h, 7d.", HelpName = "time|age" };
        var until = new Option<string>("--until") { Description = "Only entries before this time: an ISO 8601 time, or an age such as 30m, 2h, 7d.", HelpName = "time|age" };
        var limit = LimitOption(20);
        var rank = new Option<bool>("--rank") { Description = "Order by relevance (BM25) instead of newest first." };
        var run = new Option<string>("--run") { Description = "Only entries of this run id, such as g7." };
        var kind = new Option<string>("--event") { Description = "Only entries of this event kind: start, transition, complete, fail, cancel, gate, error." };
        var json = JsonOption();
        var db = Cli.DatabaseOption();
        var command = new Command("search", "Search the history of every session in the store.") { text, fts, session, channel, since, until, limit, rank, run, kind, json, db };
        command.SetAction((parse, cancellationToken) =>
        {
            var options = new SearchOptions
            {
                Fts = parse.GetValue(fts),
                SessionId = parse.GetValue(session),
                Channel = parse.GetValue(channel),
                Since = ParseTime(parse.GetValue(since), "--since"),
                Until = ParseTime(parse.GetValue(until), "--until"),
                Limit = CheckLimit(parse.GetValue(limit)),
                Rank = parse.GetValue(rank),
                RunId = parse.GetValue(run),
                Event = parse.GetValue(kind),
            };
            var query = parse.GetValue(text)!;
            return WithStoreAsync(console, parse.GetValue(db)!, async store =>
            {
                try
                {
                    await WriteEntriesAsync(console, store.SearchAsync(query, options, cancellationToken), parse.GetValue(json), $"no entries match '{TerminalText.Escape(query)}'.", cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (InvalidSearchQueryException e)
                {
                    // The store's message speaks to library users (SearchOptions.Fts); a CLI user has --fts.
                    var why = e.InnerException is SqliteException sqlite ? sqlite.Message : e.Message;
                    throw new CliException($"invalid search: '{e.Query ?? query}' is not valid FTS5 syntax ({why}); fix the query, or drop --fts to search the words as plain text.", e);
                }
                catch (Dataflow.Npgsql.InvalidSearchQueryException e)
                {
                    // On PostgreSQL, --fts is raw tsquery syntax (&, |, !, <->, word:*).
                    var why = e.InnerException?.Message ?? e.Message;
                    throw new CliException($"invalid search: '{TerminalText.Escape(e.Query ?? query)}' is not valid tsquery syntax ({TerminalText.Escape(why)}); fix the query, or drop --fts to search the words as plain text.", e);
                }

                return ExitCodes.Success;
            });
        });
        return command;
    }

    public static Command Recent(CliConsole console)
    {
        var limit = LimitOption(50);
        var json = JsonOption();
        var db = Cli.DatabaseOption();
        var command = new Command("recent", "Show the newest entries over every session, newest first.") { limit, json, db };
        command.SetAction((parse, cancellationToken) => WithStoreAsync(console, parse.GetValue(db)!, async store =>
        {
            var n = CheckLimit(parse.GetValue(limit));
            await WriteEntriesAsync(console, store.RecentAsync(n, cancellationToken), parse.GetValue(json), "the store has no entries yet.", cancellationToken: cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Sessions(CliConsole console)
    {
        var json = JsonOption();
        var db = Cli.DatabaseOption();
        var command = new Command("sessions", "List the sessions in the store, oldest first, with their entry counts.") { json, db };
        command.SetAction((parse, cancellationToken) => WithStoreAsync(console, parse.GetValue(db)!, async store =>
        {
            var sessions = (await store.SessionsAsync(cancellationToken).ConfigureAwait(false)).OrderBy(s => s.StartedAt).ToArray();
            if (parse.GetValue(json))
            {
                var array = new JsonArray([.. sessions.Select(s => new JsonObject
                {
                    ["id"] = s.Id,
                    ["startedAt"] = s.StartedAt,
                    ["cwd"] = s.Cwd,
                    ["entryCount"] = s.EntryCount,
                    ["metadata"] = ParseMetadata(s.MetadataJson),
                })]);
                console.Output.WriteLine(array.ToJsonString(Json));
                return ExitCodes.Success;
            }

            if (sessions.Length == 0)
            {
                console.Output.WriteLine("the store has no sessions yet.");
                return ExitCodes.Success;
            }

            var table = new Table().Border(console.IsTerminal ? TableBorder.Rounded : TableBorder.Ascii).AddColumns("session", "started", "entries", "cwd", "metadata");
            table.Columns[2].RightAligned();
            foreach (var s in sessions)
            {
                table.AddRow(
                    TerminalText.Cell(s.Id),
                    Time(s.StartedAt),
                    s.EntryCount.ToString(CultureInfo.InvariantCulture),
                    TerminalText.Cell(s.Cwd),
                    TerminalText.Cell(s.MetadataJson));
            }

            console.Ansi.Write(table);
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Show(CliConsole console)
    {
        var runId = new Argument<string>("run-id") { Description = "The run's id, such as g7." };
        var session = new Option<string>("--session") { Description = "The session the run belongs to; by default the latest session that has the run (run ids repeat across sessions)." };
        var json = JsonOption();
        var db = Cli.DatabaseOption();
        var command = new Command("show", "Show one run's events in order, from the store, then (as a table) the checkpoints of a durable run.") { runId, session, json, db };
        command.SetAction((parse, cancellationToken) => WithStoreAsync(console, parse.GetValue(db)!, async store =>
        {
            var id = parse.GetValue(runId)!;
            var requested = parse.GetValue(session);
            if (requested is not null && !(await store.SessionsAsync(cancellationToken).ConfigureAwait(false)).Any(s => s.Id == requested))
            {
                throw new CliException($"no session '{requested}' in '{store.Name}'; `dataflow sessions` lists them.");
            }

            // The run id is an indexed column: finding the newest session with the run is one lookup, not a scan.
            var shown = false;
            if ((requested ?? await store.SessionOfRunAsync(id, cancellationToken).ConfigureAwait(false)) is { } sessionId)
            {
                var events = store.SessionEntriesAsync(sessionId, id, cancellationToken);
                shown = await WriteEntriesAsync(console, events, parse.GetValue(json), empty: null, title: $"run {id} in session {sessionId}", cancellationToken).ConfigureAwait(false) > 0;
            }

            if (!parse.GetValue(json) && await WriteCheckpointsAsync(console, store, id, mustHave: !shown, cancellationToken).ConfigureAwait(false))
            {
                shown = true;
            }

            if (shown)
            {
                return ExitCodes.Success;
            }

            throw new CliException(requested is null
                ? $"no events of run '{id}' in any session of '{store.Name}'; was it run with --policy Silent, or is it another database?"
                : $"no events of run '{id}' in session '{requested}'.");
        }));
        return command;
    }

    /// <summary>Writes a durable run's checkpoints as a table; false when it has none. A file without checkpoint tables has none, unless they are all that was asked for.</summary>
    private static async Task<bool> WriteCheckpointsAsync(CliConsole console, IHistoryReader store, string runId, bool mustHave, CancellationToken cancellationToken)
    {
        IReadOnlyList<RunCheckpoint> checkpoints;
        try
        {
            checkpoints = await store.RunCheckpointsAsync(runId, cancellationToken).ConfigureAwait(false);
        }
        catch (CheckpointsUnavailableException e) when (!mustHave)
        {
            console.Trace(e.Message);
            return false;
        }
        catch (CheckpointsUnavailableException e)
        {
            throw new CliException($"no events of run '{TerminalText.Escape(runId)}', and no checkpoints: {TerminalText.Escape(e.Message)}", e);
        }

        if (checkpoints.Count == 0)
        {
            return false;
        }

        var table = new Table().Border(console.IsTerminal ? TableBorder.Rounded : TableBorder.Ascii).Title($"checkpoints of run {TerminalText.Cell(runId)}")
            .AddColumns("seq", "state", "step", "node", "at", "gates / error");
        foreach (var c in checkpoints)
        {
            table.AddRow(
                c.Sequence.ToString(CultureInfo.InvariantCulture),
                c.State.ToString(),
                c.Step.ToString(CultureInfo.InvariantCulture),
                TerminalText.Cell(c.NodeType),
                c.Timestamp.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture),
                TerminalText.Cell(c.Error ?? c.Gates ?? (c.RerunOf is { } of ? $"rerun of {of}" : string.Empty)));
        }

        console.Ansi.Write(table);
        await ChildCheckpoints.WriteAsync(console, store, runId, checkpoints, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static Option<int> LimitOption(int defaultValue)
        => new("--limit", "-n") { Description = "The most entries to show.", DefaultValueFactory = _ => defaultValue };

    private static Option<bool> JsonOption() => new("--json") { Description = "Write JSON instead of a table, for scripts." };

    private static int CheckLimit(int limit)
        => limit >= 1 ? limit : throw new CliException($"--limit must be positive, was {limit}.");

    private static async Task<int> WithStoreAsync(CliConsole console, string db, Func<IHistoryReader, Task<int>> action)
    {
        console.Trace($"opening database '{HistoryStores.Display(db)}' read-only");
        var store = await HistoryStores.OpenForReadAsync(db, CancellationToken.None).ConfigureAwait(false);
        await using (store.ConfigureAwait(false))
        {
            try
            {
                return await action(store).ConfigureAwait(false);
            }
            catch (StoreException e) when (e is not InvalidSearchQueryException)
            {
                throw HistoryStores.Failure(db, write: false, e);
            }
            catch (Dataflow.Npgsql.StoreException e) when (e is not Dataflow.Npgsql.InvalidSearchQueryException)
            {
                throw HistoryStores.Failure(db, write: false, e);
            }
            catch (SqliteException e)
            {
                throw HistoryStores.Failure(db, write: false, e);
            }
        }
    }

    /// <summary>How many rows one table holds before the next table starts: what the output keeps in memory.</summary>
    private const int RowsPerTable = 1000;

    /// <summary>
    /// Writes entries as they are read, in constant memory: a JSON array written element by element, or tables of
    /// at most <see cref="RowsPerTable"/> rows (one table for the usual short listing).
    /// </summary>
    /// <returns>How many entries were written.</returns>
    private static async Task<long> WriteEntriesAsync(CliConsole console, IAsyncEnumerable<StoreEntry> entries, bool json, string? empty, string? title = null, CancellationToken cancellationToken = default)
    {
        long count = 0;
        var rows = new List<StoreEntry>(64);
        await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (json)
            {
                console.Output.Write(count == 0 ? "[\n" : ",\n");
                console.Output.Write(EntryJson(entry).ToJsonString(Json));
            }
            else
            {
                rows.Add(entry);
                if (rows.Count == RowsPerTable)
                {
                    WriteTable(console, rows, count == RowsPerTable - 1 ? title : null);
                    rows.Clear();
                }
            }

            count++;
        }

        if (json)
        {
            console.Output.WriteLine(count == 0 ? "[]" : "\n]");
        }
        else if (rows.Count > 0)
        {
            WriteTable(console, rows, count <= RowsPerTable ? title : null);
        }
        else if (count == 0 && empty is not null)
        {
            console.Output.WriteLine(empty);
        }

        return count;
    }

    private static JsonObject EntryJson(StoreEntry e) => new()
    {
        ["id"] = e.Id,
        ["sessionId"] = e.SessionId,
        ["timestamp"] = e.Timestamp,
        ["mode"] = e.Mode,
        ["channel"] = e.Channel,
        ["direction"] = e.Direction,
        ["runId"] = e.RunId,
        ["event"] = e.Event,
        ["content"] = e.Content,
        ["snippet"] = e.Snippet,
        ["metadata"] = ParseMetadata(e.MetadataJson),
    };

    private static void WriteTable(CliConsole console, IReadOnlyList<StoreEntry> entries, string? title)
    {
        var table = new Table().Border(console.IsTerminal ? TableBorder.Rounded : TableBorder.Ascii).AddColumns("time", "session", "channel", "run", "event", "content");
        if (title is not null)
        {
            table.Title(TerminalText.Cell(title));
        }

        foreach (var e in entries)
        {
            table.AddRow(
                Time(e.Timestamp),
                TerminalText.Cell(e.SessionId),
                TerminalText.Cell(e.Channel),
                TerminalText.Cell(e.RunId ?? string.Empty),
                TerminalText.Cell(e.Event ?? string.Empty),
                TerminalText.Cell(e.Snippet ?? e.Content));
        }

        console.Ansi.Write(table);
    }

    private static JsonNode? ParseMetadata(string? metadataJson)
    {
        if (string.IsNullOrEmpty(metadataJson))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(metadataJson);
        }
        catch (JsonException)
        {
            return JsonValue.Create(metadataJson);
        }
    }

    private static string Time(DateTimeOffset time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);

    /// <summary>An ISO 8601 time, or an age before now: <c>90s</c>, <c>30m</c>, <c>2h</c>, <c>7d</c>.</summary>
    internal static DateTimeOffset? ParseTime(string? text, string option)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        text = text.Trim();
        double? unitSeconds = text[^1] switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => null,
        };
        if (text.Length >= 2 && unitSeconds is { } unit
            && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            // An age reaches back at most to year 1: anything older (or not a finite, non-negative number) is refused.
            var now = DateTimeOffset.UtcNow;
            var seconds = amount * unit;
            var oldest = (now - DateTimeOffset.MinValue).TotalSeconds;
            if (!double.IsFinite(seconds) || seconds < 0 || seconds >= oldest - 1)
            {
                throw new CliException(FormattableString.Invariant(
                    $"{option} '{TerminalText.Escape(text)}' is not a usable age: it must be a non-negative number of {text[^1]} reaching back no further than year 1 (at most {Math.Floor(oldest / unit):0}{text[^1]})."));
            }

            return now - TimeSpan.FromSeconds(seconds);
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var time)
            ? time
            : throw new CliException($"{option} '{TerminalText.Escape(text)}' is neither a time (such as 2025-01-31T14:00) nor an age (such as 30m, 2h, 7d).");
    }
}

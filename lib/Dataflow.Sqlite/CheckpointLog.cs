using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Dataflow.Checkpoints;

namespace Dataflow.Sqlite;

/// <summary>
/// The stored form of checkpoints: the <c>checkpoint_log</c> table holds, per written batch, one row for each group of
/// checkpoints of one graph and one bucket of run ids, with the checkpoints as a JSON array in its <c>body</c>, deflated
/// (checkpoints repeat their field names and options: a tenth of the bytes to write and sync). A batch
/// of a thousand checkpoints is then a few row inserts instead of a thousand: the cost of a checkpoint is its JSON,
/// written by the writer's loop straight into its row's body. Reads fold the rows back: a run's checkpoints are in
/// the rows of its bucket, the unfinished runs of a graph are the runs whose latest checkpoint is not final.
/// </summary>
/// <remarks>
/// Buckets: a run id <c>d7-1234</c> (an engine's prefix and a counter, as the engine makes them with a checkpoint store;
/// <c>d7-1234/5</c> for a child) falls in bucket <c>(d7, 1234 / 1024)</c>, so the runs in flight at one moment share
/// a few buckets and a run's checkpoints are found with one index seek. Any other id is its own prefix, bucket 0.
/// </remarks>
internal static class CheckpointLog
{
    /// <summary>Runs per bucket: 2^10.</summary>
    public const int BucketBits = 10;

    public const string InsertSql =
        "INSERT INTO checkpoint_log (session_id, graph, fingerprint, run_prefix, bucket, checkpoints, finals, failed, body) " +
        "VALUES (@SessionId, @Graph, @Fingerprint, @RunPrefix, @Bucket, @Checkpoints, @Finals, @Failed, @Body)";

    /// <summary>The bucket of a run id (see the remarks).</summary>
    public static (string Prefix, long Bucket) BucketOf(string runId) => BucketOf(runId, null);

    /// <summary>The bucket of a run id, whose prefix is <paramref name="known"/> (not copied again) when it is the same.</summary>
    public static (string Prefix, long Bucket) BucketOf(string runId, string? known)
    {
        var dash = runId.IndexOf('-', StringComparison.Ordinal);
        if (dash <= 0)
        {
            return (runId, 0);
        }

        long number = 0;
        for (var i = dash + 1; i < runId.Length && char.IsAsciiDigit(runId[i]) && number < long.MaxValue / 10 - 9; i++)
        {
            number = (number * 10) + (runId[i] - '0');
        }

        var prefix = known is not null && runId.AsSpan(0, dash).SequenceEqual(known) ? known : runId[..dash];
        return (prefix, number >> BucketBits);
    }

    /// <summary>
    /// Writes one checkpoint as a JSON object to <paramref name="json"/> (the node, trace, gates and options are JSON
    /// already and go in as they are). The writer's loop encodes a batch's checkpoints straight into the body of their
    /// row, so a checkpoint costs no bytes of its own before it is packed.
    /// </summary>
    public static void Encode(RunCheckpoint checkpoint, Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("r", checkpoint.RunId);
        json.WriteNumber("s", checkpoint.Sequence);
        json.WriteString("st", StateName(checkpoint.State));
        json.WriteNumber("p", checkpoint.Step);
        json.WriteString("t", checkpoint.NodeType);
        json.WritePropertyName("n");
        json.WriteRawValue(checkpoint.Node, skipInputValidation: true);
        Raw(json, "tr", checkpoint.Trace);
        Raw(json, "g", checkpoint.Gates);
        if (checkpoint.GatesResolved)
        {
            json.WriteBoolean("gr", true);
        }

        json.WriteNumber("gn", checkpoint.GateNumber);
        json.WriteNumber("i", checkpoint.Iterations);
        Raw(json, "o", checkpoint.Options);
        if (checkpoint.Error is { } error)
        {
            json.WriteString("e", error);
        }

        if (checkpoint.RerunOf is { } rerunOf)
        {
            json.WriteString("ro", rerunOf);
        }

        if (checkpoint.Parent is { } parent)
        {
            json.WriteString("pa", parent);
        }

        if (checkpoint.ChildNumber > 0)
        {
            json.WriteNumber("cn", checkpoint.ChildNumber);
        }

        Raw(json, "ch", checkpoint.Children);
        json.WriteNumber("tt", checkpoint.Timestamp.UtcTicks);
        json.WriteEndObject();
    }

    /// <summary>A row's body: the JSON array of checkpoints (<paramref name="json"/>), deflated.</summary>
    public static byte[] Pack(ReadOnlySpan<byte> json)
    {
        using var packed = new MemoryStream(json.Length / 4);
        using (var deflate = new DeflateStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(json);
        }

        return packed.ToArray();
    }

    /// <summary>A row's body as JSON: inflated, or as it is when plain (rows moved over from schema version 5 are).</summary>
    public static byte[] Unpack(byte[] body)
    {
        if (body.Length > 0 && body[0] == (byte)'[')
        {
            return body;
        }

        using var json = new MemoryStream(body.Length * 8);
        using (var inflate = new DeflateStream(new MemoryStream(body), CompressionMode.Decompress))
        {
            inflate.CopyTo(json);
        }

        return json.ToArray();
    }

    /// <summary>The checkpoints of one row's body, in the order they were written; only those of <paramref name="runId"/> when given.</summary>
    public static IEnumerable<RunCheckpoint> Decode(byte[] body, string graph, string fingerprint, string? runId = null)
    {
        using var document = JsonDocument.Parse(Unpack(body));
        var found = new List<RunCheckpoint>();
        foreach (var element in document.RootElement.EnumerateArray())
        {
            if (runId is null || element.GetProperty("r").ValueEquals(runId))
            {
                found.Add(Read(element, graph, fingerprint));
            }
        }

        return found;
    }

    /// <summary>Reads one checkpoint object back.</summary>
    public static RunCheckpoint Read(JsonElement element, string graph, string fingerprint)
    {
        var timestamp = element.TryGetProperty("tt", out var ticks)
            ? new DateTimeOffset(ticks.GetInt64(), TimeSpan.Zero)
            : DateTimeOffset.Parse(element.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        return new RunCheckpoint(
            element.GetProperty("r").GetString()!,
            element.GetProperty("s").GetInt32(),
            graph,
            fingerprint,
            Enum.Parse<CheckpointState>(element.GetProperty("st").GetString()!),
            element.GetProperty("p").GetInt32(),
            element.GetProperty("t").GetString()!,
            element.GetProperty("n").GetRawText(),
            timestamp)
        {
            Trace = RawOrNull(element, "tr"),
            Gates = RawOrNull(element, "g"),
            GatesResolved = element.TryGetProperty("gr", out var resolved) && resolved.ValueKind == JsonValueKind.True,
            GateNumber = element.TryGetProperty("gn", out var gate) ? gate.GetInt32() : 0,
            Iterations = element.TryGetProperty("i", out var iterations) ? iterations.GetInt32() : 0,
            Options = RawOrNull(element, "o"),
            Error = StringOrNull(element, "e"),
            RerunOf = StringOrNull(element, "ro"),
            Parent = StringOrNull(element, "pa"),
            ChildNumber = element.TryGetProperty("cn", out var number) ? number.GetInt32() : 0,
            Children = RawOrNull(element, "ch"),
        };
    }

    /// <summary>Whether a stored checkpoint's state is final, read without materializing it.</summary>
    public static bool IsFinal(JsonElement element)
    {
        var state = element.GetProperty("st");
        return state.ValueEquals("Done") || state.ValueEquals("Failed") || state.ValueEquals("Cancelled");
    }

    private static string StateName(CheckpointState state) => state switch
    {
        CheckpointState.Running => "Running",
        CheckpointState.Waiting => "Waiting",
        CheckpointState.Done => "Done",
        CheckpointState.Failed => "Failed",
        CheckpointState.AwaitingChildren => "AwaitingChildren",
        _ => "Cancelled",
    };

    private static void Raw(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WritePropertyName(name);
            json.WriteRawValue(value, skipInputValidation: true);
        }
    }

    private static string? RawOrNull(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetRawText() : null;

    private static string? StringOrNull(JsonElement element, string name)
        => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

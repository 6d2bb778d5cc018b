using System.Buffers;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using System.Text.Json;
using Dataflow.Graphs;

namespace Dataflow.Cli.Loading;

/// <summary>One line of a JSONL input that could not become a start node.</summary>
internal sealed record RejectedLine(string File, long Line, string Reason)
{
    public override string ToString() => $"{File}:{Line}: {Reason}";
}

/// <summary>
/// Reads start nodes from JSONL, one per line, with System.Text.Json (web defaults: camelCase, case-insensitive;
/// required constructor parameters and non-nullable annotations respected). A line is rejected, with its number and
/// the reason, when it is longer than the limit (it is skipped without being buffered), is not valid UTF-8, is not
/// JSON of the start type, misses a required property, has null for a non-nullable one, or when the start node's
/// constructor throws. Rejected lines never stop the batch. Blank lines are skipped and not counted as inputs.
/// </summary>
internal static class JsonlInputs
{
    /// <summary>The default of <c>--max-line-bytes</c>: 1 MiB.</summary>
    public const int DefaultMaxLineBytes = 1 << 20;

    /// <summary>The largest <c>--max-line-bytes</c> accepted: 256 MiB.</summary>
    public const int MaxMaxLineBytes = 1 << 28;

    /// <summary>What <c>--input</c> takes to read standard input.</summary>
    public const string StandardInput = "-";

    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>Opens the file now, so that a missing or unreadable file is reported before anything runs; <c>-</c> is standard input.</summary>
    /// <exception cref="CliException">The path is empty, missing, a directory or unreadable.</exception>
    public static Stream Open(string path, CliConsole console)
    {
        if (path == StandardInput)
        {
            return console.OpenInput();
        }

        if (string.IsNullOrWhiteSpace(path))
        {
            throw new CliException($"--input '{path}' is empty: give a JSONL file, or - for standard input.");
        }

        if (Directory.Exists(path))
        {
            throw new CliException($"--input '{path}' is a directory; give a JSONL file (one JSON object per line).");
        }

        try
        {
            return new FileStream(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Options = FileOptions.SequentialScan | FileOptions.Asynchronous });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliException($"input file not found: '{path}'.", e);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException or ArgumentException or NotSupportedException)
        {
            throw new CliException($"input file not readable: '{path}' ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Yields a start node for each good line; reports each bad line to <paramref name="rejected"/> with its line
    /// number and goes on. Memory stays within about <paramref name="maxLineBytes"/> whatever the input holds.
    /// </summary>
    public static async IAsyncEnumerable<INode> ReadAsync(
        Stream stream,
        string displayName,
        Type startType,
        int maxLineBytes,
        Action<RejectedLine> rejected,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(rejected);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);

        // One buffer holds the line being read plus one read's worth; a line over the limit is dropped as it streams by.
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxLineBytes, 1 << 16) + (1 << 16));
        try
        {
            long number = 0;
            var length = 0;          // bytes of the current line kept in buffer
            var skipping = false;    // the current line is over the limit: its remaining bytes are discarded
            var endOfInput = false;
            while (!endOfInput)
            {
                if (buffer.Length - length < 1 << 12)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxLineBytes + (1 << 16)));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                endOfInput = read == 0;
                var scanFrom = length;
                length += read;
                var lineStart = 0;
                while (true)
                {
                    var newline = buffer.AsSpan(scanFrom, length - scanFrom).IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        break;
                    }

                    var end = scanFrom + newline;
                    number++;
                    if (skipping)
                    {
                        skipping = false;
                        rejected(new RejectedLine(displayName, number, $"line is longer than {maxLineBytes} bytes (--max-line-bytes)"));
                    }
                    else if (Line(buffer.AsSpan(lineStart, end - lineStart), number, displayName, startType, maxLineBytes, rejected) is { } node)
                    {
                        yield return node;
                    }

                    lineStart = end + 1;
                    scanFrom = lineStart;
                }

                // Keep the unfinished line at the start of the buffer, or drop it once it is over the limit.
                var rest = length - lineStart;
                if (skipping || rest > maxLineBytes)
                {
                    skipping = true;
                    length = 0;
                }
                else
                {
                    buffer.AsSpan(lineStart, rest).CopyTo(buffer);
                    length = rest;
                }

                if (endOfInput && (length > 0 || skipping))
                {
                    number++;
                    if (skipping)
                    {
                        rejected(new RejectedLine(displayName, number, $"line is longer than {maxLineBytes} bytes (--max-line-bytes)"));
                    }
                    else if (Line(buffer.AsSpan(0, length), number, displayName, startType, maxLineBytes, rejected) is { } node)
                    {
                        yield return node;
                    }
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static INode? Line(ReadOnlySpan<byte> line, long number, string displayName, Type startType, int maxLineBytes, Action<RejectedLine> rejected)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (number == 1 && line.StartsWith("\uFEFF"u8))
        {
            line = line[3..];
        }

        if (line.Length > maxLineBytes)
        {
            rejected(new RejectedLine(displayName, number, $"line is longer than {maxLineBytes} bytes (--max-line-bytes)"));
            return null;
        }

        if (!Utf8.IsValid(line))
        {
            rejected(new RejectedLine(displayName, number, $"not valid UTF-8 (at byte {FirstInvalidByte(line) + 1} of the line)"));
            return null;
        }

        if (IsBlank(line))
        {
            return null;
        }

        var node = Parse(line, startType, out var reason);
        if (node is null)
        {
            rejected(new RejectedLine(displayName, number, reason!));
        }

        return node;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r'))
            {
                return false;
            }
        }

        return true;
    }

    private static int FirstInvalidByte(ReadOnlySpan<byte> line)
    {
        var offset = 0;
        while (offset < line.Length)
        {
            if (Rune.DecodeFromUtf8(line[offset..], out _, out var consumed) != OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return offset;
    }

    private static INode? Parse(ReadOnlySpan<byte> line, Type startType, out string? reason)
    {
        try
        {
            if (JsonSerializer.Deserialize(line, startType, Options) is INode node)
            {
                reason = null;
                return node;
            }

            reason = $"expected a {startType.Name} object, got null";
            return null;
        }
        catch (JsonException e)
        {
            reason = $"malformed JSON for {startType.Name}: {e.Message}";
            return null;
        }
        catch (NotSupportedException e)
        {
            reason = $"cannot create a {startType.Name} from JSON: {e.Message}";
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The start node's own code (its constructor or a property setter) rejected the values: a boundary
            // around user code, so any exception type is a rejected line, reported with its type and message.
            var thrown = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
            reason = $"invalid {startType.Name}: creating it threw {thrown.GetType().Name}: {thrown.Message}";
            return null;
        }
    }
}

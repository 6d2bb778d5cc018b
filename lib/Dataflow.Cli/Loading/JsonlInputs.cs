using System.Runtime.CompilerServices;
using System.Text.Json;
using Dataflow.Engine;
using Dataflow.Graphs;
using Dataflow.Graphs.Inputs;

namespace Dataflow.Cli.Loading;

/// <summary>One line of a JSONL input file that could not become a start node.</summary>
internal sealed record RejectedLine(string File, int Line, string Reason)
{
    public override string ToString() => $"{File}:{Line}: {Reason}";
}

/// <summary>Reads start nodes from a JSONL file, one per line, with System.Text.Json (web defaults: camelCase, case-insensitive).</summary>
internal static class JsonlInputs
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>Opens the file now, so that a missing or unreadable file is reported before anything runs.</summary>
    /// <exception cref="CliException">The file is missing or unreadable.</exception>
    public static StreamReader Open(string path)
    {
        try
        {
            return new StreamReader(path, new FileStreamOptions { Mode = FileMode.Open, Access = FileAccess.Read, Options = FileOptions.SequentialScan | FileOptions.Asynchronous });
        }
        catch (FileNotFoundException e)
        {
            throw new CliException($"input file not found: '{path}'.", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new CliException($"input file not found: '{path}'.", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new CliException($"input file not readable: '{path}' ({e.Message}).", e);
        }
        catch (IOException e)
        {
            throw new CliException($"input file not readable: '{path}' ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Yields a start node for each good line; reports each bad line (malformed JSON, wrong shape, null) to
    /// <paramref name="rejected"/> with its line number and goes on. Blank lines are skipped.
    /// </summary>
    public static async IAsyncEnumerable<INode> ReadAsync(
        StreamReader reader,
        string displayName,
        Type startType,
        Action<RejectedLine> rejected,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(rejected);
        var number = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            var node = Parse(line, startType, out var reason);
            if (node is null)
            {
                rejected(new RejectedLine(displayName, number, reason!));
                continue;
            }

            yield return node;
        }
    }

    private static INode? Parse(string line, Type startType, out string? reason)
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
        catch (ArgumentException e)
        {
            // A node's constructor rejected the values.
            reason = $"invalid {startType.Name}: {e.Message}";
            return null;
        }
    }
}

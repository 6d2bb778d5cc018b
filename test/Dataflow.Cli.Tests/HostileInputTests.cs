using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsCheck;

namespace Dataflow.Cli.Tests;

/// <summary>
/// Property-based: generated hostile argument vectors and input lines, run in-process through the real entry
/// point. Whatever the input, the CLI exits with a documented code, prints no stack trace and no raw control
/// character on stderr, and loses no input line: every line is either run or rejected by its number.
/// </summary>
public sealed partial class HostileInputTests : CliTestBase
{
    private static readonly string[] Commands = ["run", "search", "recent", "sessions", "show", "graph", "submit", "worker", "status", "frobnicate", "", "--help"];

    private static readonly string[] OptionNames =
    [
        "--assembly", "-a", "--start", "-s", "--input", "-i", "--count", "-n", "--parallelism", "-p", "--max-in-flight",
        "--policy", "--max-iterations", "--progress-interval", "--max-line-bytes", "--fts", "--session", "--channel",
        "--since", "--until", "--limit", "--rank", "--json", "--verbose", "--job", "--lease", "--claim-batch", "--max-attempts", "--drain-timeout", "--bogus", "-x", "--", "---", "-",
    ];

    private static readonly string[] HostileValues =
    [
        "", " ", "   ", "0", "-1", "3", "1", "NaN", "-NaN", "1e308", "-1e308", "Infinity", "-Infinity", "99999999999", "2147483648",
        "1e400s", "99999999999d", "800000d", "Infinityd", "0.0001", "0.05", "5m", "2025-01-31T14:00", "verbose", "Silent",
        "\u001b]0;title\u0007\u001b[2J", "\0", "\u0085\u009b", "é€𝄞", "\ud800", "g1", "\"unbalanced", "a OR", "*", "Greeting", "Nope",
        "-", new string('x', 10_000),
    ];

    [Test]
    [CancelAfter(120_000)]
    public async Task HostileArguments_ExitWithADocumentedCodeAndNoStackTrace(CancellationToken cancellationToken)
    {
        var store = Path.Combine(Directory, "store.db");
        Assert.That((await RunCliAsync("run", "--count", "3", "--db", store)).ExitCode, Is.EqualTo(0));
        var garbage = WriteFile("garbage.db", new string('x', 4096));
        string[] paths = [string.Empty, "   ", Directory, store, garbage, Path.Combine(Directory, "missing", "x.db"), Path.Combine(Directory, "missing.jsonl"), "-", typeof(Greeting).Assembly.Location];
        var databases = new[] { string.Empty, "  ", Directory, store, garbage, Path.Combine(Directory, "missing", "x.db") };

        var value = Gen.Frequency(
            (6, Gen.OneOf(HostileValues)),
            (2, Gen.OneOf(paths)),
            (2, Gen.Char.Array[0, 12].Select(chars => new string(chars))));
        var option = Gen.Select(Gen.OneOf(OptionNames), value, Gen.Bool, (name, v, withValue) => withValue ? new[] { name, v } : [name]);
        var vectors = Gen.Select(
            Gen.OneOf(Commands),
            option.Array[0, 5],
            value.Array[0, 2],
            Gen.Frequency((4, Gen.OneOf(databases).Select(db => new[] { "--db", db })), (1, Gen.Const(Array.Empty<string>()))),
            (command, options, positional, db) => (string[])[command, .. positional, .. options.SelectMany(o => o), .. db])
            .Where(args => args[0] != "run" || (args.Length >= 3 && args[^2] == "--db"));

        await vectors.SampleAsync(
            async args =>
            {
                // A run without --db would write dataflow.db into the working directory: the generator never makes one.
                var result = await RunCliAsync(() => new MemoryStream("{\"name\":\"ada\"}\n"u8.ToArray()), args);
                Assert.That(result.ExitCode, Is.AnyOf(0, 1, 2), Describe(args, result));
                AssertNoStackTrace(args, result);
            },
            iter: 150,
            threads: 2,
            print: Print);
        cancellationToken.ThrowIfCancellationRequested();
    }

    [Test]
    public async Task AnArgumentStartingWithAt_IsTakenAsItIs_NotAsAResponseFile()
    {
        var store = Path.Combine(Directory, "store.db");
        Assert.That((await RunCliAsync("run", "--count", "3", "--db", store)).ExitCode, Is.EqualTo(0));

        // '@.' names a directory: read as a response file it used to end in an unexpected error (exit 70).
        var run = await RunCliAsync("run", "@.", "--db", store);
        var search = await RunCliAsync("search", "@.", "--db", store);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(run.ExitCode, Is.EqualTo(2), Describe(["run", "@.", "--db", store], run));
            Assert.That(run.Error, Does.Contain("'@.'"), "the usage error names the argument");
            Assert.That(search.ExitCode, Is.EqualTo(0), Describe(["search", "@.", "--db", store], search));
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task HostileInputLines_AreEachRunOrRejectedByNumber(CancellationToken cancellationToken)
    {
        const int maxLineBytes = 2000;
        var safeText = Gen.Char['\0', '\ud7ff'].Array[0, 16].Select(chars => new string(chars));
        var valid = safeText.Select(name => (Valid: true, Bytes: JsonSerializer.SerializeToUtf8Bytes(new { name })));
        var hostile = Gen.Frequency(
            (3, Gen.Byte.Array[0, 40].Select(bytes => bytes.Where(b => b != (byte)'\n').ToArray())),
            (2, Gen.OneOf(
                "{", "}", "{\"name\":", "{\"name\":\"ada\"", "{\"name\":\"ada\"}}", "[]", "null", "true", "0", "\"ada\"",
                "{\"name\":null}", "{}", "{\"nam\":\"x\"}", "{\"name\":123}", "{\"name\":1e999999}", "{\"name\":\"a\",\"x\":1e999999}",
                "{\"name\":\"\\ud800\"}", "{\"name\":\"a\"} trailing", "   ", "\t", "\r", "\uFEFF{\"name\":\"bom\"}").Select(Encoding.UTF8.GetBytes)),
            (1, Gen.Int[1, 3000].Select(depth => Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth)))),
            (1, Gen.Int[maxLineBytes - 20, maxLineBytes + 500].Select(length => Encoding.UTF8.GetBytes("{\"name\":\"" + new string('x', length) + "\"}"))),
            (1, Gen.OneOf<byte[]>([0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]).Select(bad => (byte[])[.. "{\"name\":\""u8, .. bad, .. "\"}"u8])));
        var lines = Gen.Frequency((2, valid), (3, hostile.Select(bytes => (Valid: false, Bytes: bytes)))).Array[1, 30];

        var iteration = 0;
        await lines.SampleAsync(
            async generated =>
            {
                var input = generated.SelectMany(line => (byte[])[.. line.Bytes, (byte)'\n']).ToArray();
                var db = Path.Combine(Directory, $"lines-{Interlocked.Increment(ref iteration)}.db");
                string[] args = ["run", "-a", typeof(Greeting).Assembly.Location, "-s", "Greeting", "-i", "-", "--max-line-bytes", maxLineBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), "--policy", "Silent", "--db", db];

                var result = await RunCliAsync(() => new MemoryStream(input), args);

                var description = Describe(args, result) + "\n--- input\n" + string.Join("\n", generated.Select(l => Convert.ToHexString(l.Bytes)));
                var rejected = RejectedLine().Matches(result.Error).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                var ran = RunsLine().Match(result.Output);
                var blank = generated.Select((line, i) => IsBlank(line.Bytes, i == 0)).Count(b => b);
                Assert.That(result.ExitCode, Is.AnyOf(0, 1), description);
                AssertNoStackTrace(args, result);
                Assert.That(ran.Success, Is.True, description);
                Assert.That(int.Parse(ran.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + rejected.Length, Is.EqualTo(generated.Length - blank), "every line is run or rejected\n" + description);
                Assert.That(rejected, Is.Unique, description);
                Assert.That(rejected.Where(n => generated[n - 1].Valid), Is.Empty, "a valid line was rejected\n" + description);
            },
            iter: 60,
            threads: 2,
            print: lines => string.Join(" | ", lines.Select(l => Convert.ToHexString(l.Bytes))));
        cancellationToken.ThrowIfCancellationRequested();
    }

    private static bool IsBlank(byte[] line, bool first)
    {
        ReadOnlySpan<byte> span = line;
        if (span.Length > 0 && span[^1] == (byte)'\r')
        {
            span = span[..^1];
        }

        if (first && span.StartsWith("\uFEFF"u8))
        {
            span = span[3..];
        }

        foreach (var b in span)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r'))
            {
                return false;
            }
        }

        return true;
    }

    private static void AssertNoStackTrace(string[] args, CliResult result)
    {
        var all = result.Output + result.Error;
        Assert.That(all, Does.Not.Contain("   at ").And.Not.Contain("Unhandled exception").And.Not.Contain("dataflow: unexpected error"), Describe(args, result));
        Assert.That(result.Error, Has.None.Matches<char>(c => char.IsControl(c) && c is not '\n' and not '\r'), Describe(args, result));
    }

    private static string Print(string[] args) => string.Join(" ", args.Select(a => JsonSerializer.Serialize(a)));

    private static string Describe(string[] args, CliResult result) => $"args: {Print(args)}\n{result}";

    [GeneratedRegex(@"^warning: rejected stdin:(\d+): ", RegexOptions.Multiline)]
    private static partial Regex RejectedLine();

    [GeneratedRegex(@"^Summary: .*?, (\d+) runs in ", RegexOptions.Multiline)]
    private static partial Regex RunsLine();
}

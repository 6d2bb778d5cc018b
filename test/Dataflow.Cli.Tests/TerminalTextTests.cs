using System.Text.Json;

namespace Dataflow.Cli.Tests;

/// <summary>Stored text never reaches a terminal as control characters; --json output stays exact.</summary>
public sealed class TerminalTextTests : CliTestBase
{
    private const string Hostile = "hostile \u001b]0;title\u0007 \u001b[2J del\u007f c1\u009b end";

    [SetUp]
    public async Task StoreHostileTextThroughARealRun()
    {
        var input = Path.Combine(Directory, "shout.jsonl");
        await File.WriteAllTextAsync(input, JsonSerializer.Serialize(new { text = Hostile }) + "\n");

        var result = await RunCliAsync("run", "-a", typeof(Shout).Assembly.Location, "-s", "Shout", "-i", input, "--db", Database);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        AssertNoControlCharacters(result);
        Assert.That(result.Output, Does.Contain(@"\x1b]0;title\x07"), "the summary's failure example shows the text escaped");
    }

    [TestCase("search", "hostile")]
    [TestCase("recent")]
    [TestCase("show", "g1")]
    public async Task HumanReadableOutput_EscapesControlCharacters(params string[] command)
    {
        var result = await RunCliAsync([.. command, "--db", Database]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            AssertNoControlCharacters(result);
            Assert.That(result.Output, Does.Contain(@"\x1b]0;title\x07").And.Contain(@"\x1b[2J del\x7f c1\x9b end"));
        }
    }

    [TestCase("search", "hostile")]
    [TestCase("show", "g1")]
    public async Task Json_KeepsTheTextExact(params string[] command)
    {
        var result = await RunCliAsync([.. command, "--json", "--db", Database]);

        using var document = JsonDocument.Parse(result.Output);
        var contents = document.RootElement.EnumerateArray().Select(e => e.GetProperty("content").GetString()).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Output, Has.None.Matches<char>(c => char.IsControl(c) && c is not '\n' and not '\r'));
            Assert.That(contents, Has.Some.Contains(Hostile));
        }
    }

    [Test]
    public async Task SearchQueryEchoed_IsEscaped()
    {
        var result = await RunCliAsync("search", "nothing\u001b[2J", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            AssertNoControlCharacters(result);
            Assert.That(result.Output, Does.Contain(@"nothing\x1b[2J"));
        }
    }

    [Test]
    public async Task Summary_EscapesADatabasePathWithControlCharacters()
    {
        var path = Path.Combine(Directory, "evil\u001b[2J\u0007.db");

        var result = await RunCliAsync("run", "--count", "3", "--db", path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            AssertNoControlCharacters(result);
            Assert.That(result.Output, Does.Contain(@"evil\x1b[2J\x07.db"));
        }
    }

    [TestCase("", "")]
    [TestCase("plain text", "plain text")]
    [TestCase("a\tb\nc\rd", @"a\tb\nc\rd")]
    [TestCase("\u001b[31mred\u0007", @"\x1b[31mred\x07")]
    [TestCase("\u007f\u0080\u009f\u00a0é", "\\x7f\\x80\\x9f\u00a0é")]
    public void Escape_ReplacesEveryControlCharacterVisibly(string text, string expected)
        => Assert.That(TerminalText.Escape(text), Is.EqualTo(expected));

    private static void AssertNoControlCharacters(CliResult result)
        => Assert.That(result.Output + result.Error, Has.None.Matches<char>(c => char.IsControl(c) && c is not '\n' and not '\r'), result.ToString());
}

namespace Dataflow.Cli.Tests;

/// <summary>Every option value that used to crash the CLI is now a message naming the option and the value, exit 2.</summary>
public sealed class OptionValidationTests : CliTestBase
{
    [TestCase("--since", "99999999999d")]
    [TestCase("--since", "1e400s")]
    [TestCase("--since", "Infinityd")]
    [TestCase("--since", "800000d")]
    [TestCase("--since", "NaNd")]
    [TestCase("--since", "-2h")]
    [TestCase("--until", "99999999999d")]
    [TestCase("--until", "1e400s")]
    [TestCase("--until", "Infinityd")]
    [TestCase("--until", "800000d")]
    public async Task Search_AgeOutOfRange_ExitsTwoNamingOptionAndValue(string option, string value)
    {
        await RunCliAsync("run", "--count", "1", "--db", Database);

        var result = await RunCliAsync("search", "started", option, value, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.StartWith($"error: {option} '{value}' is not a usable age"));
        }
    }

    [Test]
    public async Task Search_OldestRepresentableAge_Works()
    {
        await RunCliAsync("run", "--count", "1", "--db", Database);

        var result = await RunCliAsync("search", "started", "--since", "700000d", "--json", "--db", Database);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }

    [TestCase("NaN")]
    [TestCase("1e308")]
    [TestCase("Infinity")]
    [TestCase("-Infinity")]
    [TestCase("0.0001")]
    [TestCase("0")]
    [TestCase("100000")]
    public async Task Run_ProgressIntervalOutOfRange_ExitsTwo(string value)
    {
        var result = await RunCliAsync("run", "--count", "1", "--progress-interval", value, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Error, Does.Contain("--progress-interval must be from 0.05 to 86400 seconds, was "));
            Assert.That(File.Exists(Database), Is.False, "nothing is written before the options are valid");
        }
    }

    [Test]
    public async Task Run_ShortestProgressInterval_IsAccepted()
    {
        var result = await RunCliAsync("run", "--count", "5", "--progress-interval", "0.05", "--db", Database);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }

    [TestCase("run", "--db", "")]
    [TestCase("run", "--db", "   ")]
    [TestCase("run", "--input", "")]
    [TestCase("run", "--input", "  ")]
    [TestCase("search", "--db", "")]
    [TestCase("recent", "--db", "   ")]
    [TestCase("sessions", "--db", "")]
    public async Task EmptyPath_ExitsTwoNamingTheOption(string command, string option, string value)
    {
        string[] args = command == "search" ? [command, "x", option, value] : [command, option, value];
        var result = await RunCliAsync(args);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains($"error: {option} '{value}' is empty"));
    }

    [TestCase("run")]
    [TestCase("graph")]
    public async Task EmptyAssembly_ExitsTwoNamingTheOption(string command)
    {
        string[] args = command == "run" ? ["--input", "x.jsonl", "--db", Database] : [];
        var result = await RunCliAsync([command, "--assembly", "", "--start", "Greeting", .. args]);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains("error: --assembly '' is empty"));
    }

    [Test]
    public async Task DirectoryAsAssemblyOrInputOrDb_SaysItIsADirectory()
    {
        var assembly = await RunCliAsync("run", "--assembly", Directory, "--start", "Greeting", "--input", "x.jsonl", "--db", Database);
        var input = await RunCliAsync("run", "--input", Directory, "--db", Database);
        var db = await RunCliAsync("recent", "--db", Directory);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(assembly.Error, Does.Contain($"--assembly '{Directory}' is a directory"), assembly.ToString());
            Assert.That(input.Error, Does.Contain($"--input '{Directory}' is a directory"), input.ToString());
            Assert.That(db.Error, Does.Contain($"--db '{Directory}' is a directory"), db.ToString());
            Assert.That(new[] { assembly.ExitCode, input.ExitCode, db.ExitCode }, Is.All.EqualTo(2));
        }
    }

    [TestCase("0")]
    [TestCase("-1")]
    [TestCase("268435457")]
    public async Task Run_MaxLineBytesOutOfRange_ExitsTwo(string value)
    {
        var result = await RunCliAsync("run", "--count", "1", "--max-line-bytes", value, "--db", Database);

        Assert.That(result, Has.Property(nameof(CliResult.ExitCode)).EqualTo(2).And.Property(nameof(CliResult.Error)).Contains($"--max-line-bytes must be from 1 to 268435456, was {value}."));
    }

    [Test]
    public async Task UnexpectedError_IsOneLineWithExitCode70_AndTheStackTraceOnlyWithVerbose()
    {
        Stream Failing() => new FailingStream();
        string[] args = ["run", "--assembly", typeof(Greeting).Assembly.Location, "--start", "Greeting", "--input", "-", "--db", Database];

        var plain = await RunCliAsync(Failing, args);
        var verbose = await RunCliAsync(Failing, [.. args, "--verbose"]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(plain.ExitCode, Is.EqualTo(70), plain.ToString());
            Assert.That(plain.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), plain.ToString());
            Assert.That(plain.Error, Does.StartWith("dataflow: unexpected error: System.IO.IOException: the disk is on fire (run with --verbose for details)"));
            Assert.That(plain.Error, Does.Not.Contain("   at "));
            Assert.That(verbose.ExitCode, Is.EqualTo(70), verbose.ToString());
            Assert.That(verbose.Error, Does.Contain("the disk is on fire").And.Contain("   at "));
        }
    }

    /// <summary>Standard input whose read fails, as a broken device or pipe does.</summary>
    private sealed class FailingStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new IOException("the disk is on fire");

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => throw new IOException("the disk is on fire");

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

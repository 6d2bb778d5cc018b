using System.Text;
using System.Text.Json;

namespace Dataflow.Cli.Tests;

/// <summary>JSONL input lines: every bad line is rejected by its number (exit 1) and the batch goes on.</summary>
public sealed class InputLineTests : CliTestBase
{
    private static string TestAssembly => typeof(Greeting).Assembly.Location;

    [Test]
    public async Task ConstructorThrows_RejectsTheLineAndRunsTheRest()
    {
        var input = WriteFile("checked.jsonl", """{"name":"ada"}""", """{"name":"invalid"}""", """{"name":"grace"}""");

        var result = await RunCliAsync("run", "-a", TestAssembly, "-s", "Checked", "-i", input, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Error, Does.Contain("checked.jsonl:2: invalid Checked: creating it threw InvalidOperationException: name must not be 'invalid'"));
            Assert.That(result.Error, Does.Contain("1 input lines were rejected").And.Not.Contain("runs failed"));
            Assert.That(result.Output, Does.Contain("Summary").And.Contain("2 runs in"));
            Assert.That((await StoredEventsAsync()).Count(e => e.Event == "complete"), Is.EqualTo(2));
        }
    }

    [TestCase("""{}""", "missing required properties")]
    [TestCase("""{"other":1}""", "missing required properties")]
    [TestCase("""{"name":null}""", "null")]
    public async Task MissingOrNullRequiredProperty_RejectsTheLine(string line, string reason)
    {
        var input = WriteFile("people.jsonl", """{"name":"ada"}""", line);

        var result = await RunCliAsync("run", "-a", TestAssembly, "-s", "Greeting", "-i", input, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Error, Does.Contain("people.jsonl:2: malformed JSON for Greeting").And.Contain(reason));
            Assert.That(result.Output, Does.Contain("1 runs in"));
        }
    }

    [Test]
    public async Task LineLongerThanTheLimit_IsRejectedByNumber()
    {
        var input = WriteFile("long.jsonl", """{"name":"ada"}""", $$"""{"name":"{{new string('x', 5000)}}"}""", """{"name":"grace"}""");

        var result = await RunCliAsync("run", "-a", TestAssembly, "-s", "Greeting", "-i", input, "--max-line-bytes", "1000", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Error, Does.Contain("long.jsonl:2: line is longer than 1000 bytes (--max-line-bytes)"));
            Assert.That(result.Output, Does.Contain("2 runs in"));
        }
    }

    [Test]
    [NonParallelizable] // it measures the process's allocations
    public async Task HugeLine_IsRejectedWithoutBeingBuffered()
    {
        // 256 MiB of one line, streamed, never written to disk: reading it must not hold it in memory.
        const long size = 256L << 20;
        var before = GC.GetTotalAllocatedBytes(precise: true);

        var result = await RunCliAsync(() => new ConcatStream(Encoding.UTF8.GetBytes("{\"name\":\"ada\"}\n"), new RepeatStream((byte)'x', size), "\n{\"name\":\"grace\"}\n"u8.ToArray()), "run", "-a", TestAssembly, "-s", "Greeting", "-i", "-", "--db", Database);

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Error, Does.Contain("stdin:2: line is longer than 1048576 bytes"));
            Assert.That(result.Output, Does.Contain("2 runs in"));
            Assert.That(allocated, Is.LessThan(size / 2), "the long line was buffered");
        }
    }

    [Test]
    public async Task InvalidUtf8_IsRejectedByNumber()
    {
        var path = Path.Combine(Directory, "bytes.jsonl");
        await File.WriteAllBytesAsync(path, [.. """{"name":"ada"}"""u8, (byte)'\n', .. """{"name":"gr"""u8, 0xC3, 0x28, .. """ce"}"""u8, (byte)'\n', .. """{"name":"linus"}"""u8, (byte)'\n']);

        var result = await RunCliAsync("run", "-a", TestAssembly, "-s", "Greeting", "-i", path, "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Error, Does.Contain("bytes.jsonl:2: not valid UTF-8 (at byte 12 of the line)"));
            Assert.That(result.Output, Does.Contain("2 runs in"));
        }
    }

    [Test]
    public async Task StandardInput_IsReadWithDash()
    {
        var lines = Encoding.UTF8.GetBytes("{\"name\":\"ada\"}\r\n\r\n{\"name\":\"grace\"}");

        var result = await RunCliAsync(() => new MemoryStream(lines), "run", "-a", TestAssembly, "-s", "Greeting", "-i", "-", "--db", Database);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.Output, Does.Contain("2 runs in"));
        }
    }

    [Test]
    public async Task RejectedLine_EchoesNoControlCharacters()
    {
        var input = WriteFile("bad.jsonl", "{\"name\": \u001b]0;pwned\u0007}");

        var result = await RunCliAsync("run", "-a", TestAssembly, "-s", "Greeting", "-i", input, "--db", Database);

        Assert.That(result.Error, Has.None.Matches<char>(c => char.IsControl(c) && c is not '\n'), result.ToString());
    }

    [Test]
    public async Task Readme_SaysARejectedLineExitsOne()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "README.md"));
        var section = readme[readme.IndexOf("## The `dataflow` command", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(section, Does.Contain("any input line was rejected"));
            Assert.That(section, Does.Not.Contain("malformed JSON at line N"));
            Assert.That(section, Does.Contain("70").And.Contain("143").And.Contain("--verbose"));
        }

        static string RepositoryRoot()
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Dataflow.sln")))
            {
                directory = directory.Parent;
            }

            return directory?.FullName ?? throw new InvalidOperationException("no Dataflow.sln above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A stream of one byte repeated, produced as it is read.</summary>
    private sealed class RepeatStream(byte value, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            buffer.AsSpan(offset, n).Fill(value);
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Bytes, then a stream, then bytes.</summary>
    private sealed class ConcatStream(byte[] head, Stream middle, byte[] tail) : Stream
    {
        private int _part;
        private int _offset;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            while (_part < 3)
            {
                var n = _part == 1 ? middle.Read(buffer, offset, count) : Copy(_part == 0 ? head : tail, buffer, offset, count);
                if (n > 0)
                {
                    return n;
                }

                _part++;
                _offset = 0;
            }

            return 0;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            middle.Dispose();
            base.Dispose(disposing);
        }

        private int Copy(byte[] source, byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, source.Length - _offset);
            source.AsSpan(_offset, n).CopyTo(buffer.AsSpan(offset));
            _offset += n;
            return n;
        }
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Dataflow.Dashboard.Tests;

/// <summary>The real <c>dataflow</c> command as a child process, with its output collected and awaitable lines.</summary>
internal sealed class DataflowProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly List<(string Prefix, TaskCompletionSource<string> Line)> _waiters = [];

    private DataflowProcess(Process process) => _process = process;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static DataflowProcess Start(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Dataflow.Cli.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = new DataflowProcess(Process.Start(start)!);
        process._process.OutputDataReceived += (_, e) => process.Received(e.Data);
        process._process.ErrorDataReceived += (_, e) => process.Received(e.Data);
        process._process.BeginOutputReadLine();
        process._process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Runs the command to its end (a hang guard of 60 s) and returns its exit code.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, params string[] args)
    {
        using var process = Start(workingDirectory, args);
        var exit = await process.ExitAsync();
        return (exit, process.Output);
    }

    /// <summary>The first line (stdout or stderr) that starts with <paramref name="prefix"/>, without the prefix.</summary>
    public Task<string> LineAsync(string prefix)
    {
        var line = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            _waiters.Add((prefix, line));
            foreach (var seen in Output.Split('\n'))
            {
                if (seen.StartsWith(prefix, StringComparison.Ordinal))
                {
                    line.TrySetResult(seen[prefix.Length..].TrimEnd('\r'));
                }
            }
        }

        return line.Task;
    }

    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public async Task<int> ExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync();
        return _process.ExitCode;
    }

    public override string ToString() => Output;

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private void Received(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        lock (_waiters)
        {
            foreach (var (prefix, waiter) in _waiters)
            {
                if (line.StartsWith(prefix, StringComparison.Ordinal))
                {
                    waiter.TrySetResult(line[prefix.Length..]);
                }
            }
        }
    }
}

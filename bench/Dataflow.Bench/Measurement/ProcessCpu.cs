using System.Globalization;

namespace Dataflow.Bench.Measurement;

/// <summary>
/// CPU time of other processes, from Linux's <c>/proc/&lt;pid&gt;/stat</c>: a process's own user and system time, and
/// that of its children it has reaped. For a PostgreSQL server that is the postmaster with every backend: a backend
/// that exits is reaped by the postmaster and its time moves into the postmaster's children's time, so the sum over the
/// postmaster and its live children only grows, whichever connections come and go.
/// </summary>
internal static class ProcessCpu
{
    /// <summary>Linux's USER_HZ, the unit of the times in <c>/proc/&lt;pid&gt;/stat</c> (100 on every Linux .NET runs on).</summary>
    private const double TicksPerSecond = 100;

    /// <summary>The CPU time of a PostgreSQL server so far: its postmaster (from <c>postmaster.pid</c> in <paramref name="dataDirectory"/>), every process it runs, every one it reaped.</summary>
    /// <returns>The time, or null where <c>/proc</c> cannot be read (not Linux).</returns>
    public static TimeSpan? PostgresServer(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile) || !Directory.Exists("/proc"))
        {
            return null;
        }

        var postmaster = int.Parse(File.ReadLines(pidFile).First(), CultureInfo.InvariantCulture);
        var ticks = 0L;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || Read(pid) is not { } stat)
            {
                continue;
            }

            if (pid == postmaster)
            {
                ticks += stat.Own + stat.Reaped;
            }
            else if (stat.Parent == postmaster)
            {
                ticks += stat.Own;
            }
        }

        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>Fields 4 (ppid), 14–17 (utime, stime, cutime, cstime) of one process; null if it is gone.</summary>
    private static (int Parent, long Own, long Reaped)? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return ((int)Field(4), Field(14) + Field(15), Field(16) + Field(17));
    }
}

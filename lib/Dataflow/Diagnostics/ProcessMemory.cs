using Microsoft.Win32.SafeHandles;

namespace Dataflow.Diagnostics;

/// <summary>Reads the process's resident set size cheaply.</summary>
internal static class ProcessMemory
{
    // On Linux, /proc/self/statm's second field is the resident page count. Reading it through one open
    // handle at offset 0 costs a small syscall; Environment.WorkingSet parses all of /proc/self/status.
    private static readonly SafeFileHandle? Statm = OpenStatm();
    private static readonly long PageSize = Environment.SystemPageSize;
    private static long _sampled;
    private static long _sampledAt = long.MinValue;

    /// <summary>
    /// The resident set size as read at most about a millisecond ago (one clock tick of
    /// <see cref="Environment.TickCount64"/>): what every run reads at its start and end, so that tracking memory costs a
    /// read of two fields per run instead of a system call. Racing readers may both refresh it; either value is fine.
    /// </summary>
    public static long SampledResidentBytes()
    {
        var now = Environment.TickCount64;
        if (Volatile.Read(ref _sampledAt) == now)
        {
            return Volatile.Read(ref _sampled);
        }

        var bytes = ResidentBytes();
        Volatile.Write(ref _sampled, bytes);
        Volatile.Write(ref _sampledAt, now);
        return bytes;
    }

    public static long ResidentBytes()
    {
        if (Statm is not null)
        {
            Span<byte> buffer = stackalloc byte[128];
            int read;
            try
            {
                read = RandomAccess.Read(Statm, buffer, 0);
            }
            catch (IOException)
            {
                return Environment.WorkingSet;
            }

            var text = buffer[..read];
            var space = text.IndexOf((byte)' ');
            if (space > 0)
            {
                long pages = 0;
                foreach (var b in text[(space + 1)..])
                {
                    if (b is < (byte)'0' or > (byte)'9')
                    {
                        break;
                    }

                    pages = (pages * 10) + (b - '0');
                }

                return pages * PageSize;
            }
        }

        return Environment.WorkingSet;
    }

    private static SafeFileHandle? OpenStatm()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            return File.OpenHandle("/proc/self/statm", FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

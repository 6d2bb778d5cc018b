using Microsoft.Win32.SafeHandles;

namespace Dataflow.Diagnostics;

/// <summary>Reads the process's resident set size cheaply.</summary>
internal static class ProcessMemory
{
    // On Linux, /proc/self/statm's second field is the resident page count. Reading it through one open
    // handle at offset 0 costs a small syscall; Environment.WorkingSet parses all of /proc/self/status.
    private static readonly SafeFileHandle? Statm = OpenStatm();
    private static readonly long PageSize = Environment.SystemPageSize;

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

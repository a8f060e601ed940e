using System.Globalization;
using System.Runtime.InteropServices;

namespace ExpRunner.Tracking;

/// <summary>Another process trains or resumes the run (exit 2, naming it).</summary>
public sealed class RunBusyException(string message) : Exception(message);

/// <summary>
/// The claim of the one process that trains a run folder (a new run, or a resume): an exclusive
/// flock on the folder itself. Nothing is written into the folder for it, so a refused resume leaves
/// the folder byte for byte as it was; the kernel releases it when the process ends, kill -9
/// included, so no stale claim outlives its holder. Whoever finds it taken is told the holder's pid
/// and command line (from /proc/locks). Where the folder cannot be locked at all (a filesystem
/// without locks), training goes on unclaimed, as it did before claims existed.
/// </summary>
public sealed partial class RunLock : IDisposable
{
    private int _fd;

    private RunLock(int fd) { _fd = fd; }

    /// <summary>Claims <paramref name="dir"/>, or throws <see cref="RunBusyException"/> naming the holder.</summary>
    public static RunLock Claim(string dir, string runId)
    {
        int fd;
        try { fd = Open(dir, ODirectory | OCloexec); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return new RunLock(-1); } // not Linux: no claim
        if (fd < 0) return new RunLock(-1); // a folder that cannot be opened to lock is written as before, unclaimed
        if (Flock(fd, LockEx | LockNb) == 0) return new RunLock(fd);
        int errno = Marshal.GetLastPInvokeError();
        Close(fd);
        // Only "held by another" refuses; a filesystem that cannot lock (some network mounts) runs unclaimed, as before.
        if (errno != EWouldBlock) return new RunLock(-1);
        throw new RunBusyException($"run {runId} is being trained by another exprunner ({Holder(dir) ?? "holder unknown"}); " +
            "wait for it to end, or stop it first");
    }

    /// <summary>The process holding a flock on <paramref name="dir"/>, by its inode in /proc/locks: "pid N: its command line".</summary>
    private static string? Holder(string dir)
    {
        try
        {
            if (IO.BoundedFile.Inode(dir) is not long inode) return null;
            string suffix = ":" + inode.ToString(CultureInfo.InvariantCulture);
            foreach (var line in File.ReadLines("/proc/locks"))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1312 0 EOF"
                if (f.Length < 6 || f[1] != "FLOCK" || !f[5].EndsWith(suffix, StringComparison.Ordinal)) continue;
                string pid = f[4];
                string command = File.Exists($"/proc/{pid}/cmdline") ? File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim() : "";
                return $"pid {pid} on {Environment.MachineName}{(command.Length > 0 ? $": {command}" : "")}";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) Close(fd);
    }

    private const int ODirectory = 0x10000, OCloexec = 0x80000, LockEx = 2, LockNb = 4, EWouldBlock = 11;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

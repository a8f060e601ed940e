using ExpRunner.IO;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>Another process is running the sweep (a second --resume would run every trial twice).</summary>
public sealed class SweepBusyException(string message) : Exception(message);

/// <summary>
/// The lock a process holds while it runs a sweep: an exclusive lock on the sweep folder's `lock`
/// file (released by the kernel when the process dies, so kill -9 leaves no stale lock), and
/// `lock.json` naming the holder for whoever finds it taken.
/// </summary>
public sealed class SweepLock : IDisposable
{
    public const string File = "lock", HolderFile = "lock.json";
    private readonly FileStream _stream;
    private readonly string _holder;

    private SweepLock(FileStream stream, string holder) { _stream = stream; _holder = holder; }

    /// <summary>Takes the lock or throws <see cref="SweepBusyException"/> naming the holder.</summary>
    public static SweepLock Acquire(string sweepDir)
    {
        string path = Path.Combine(sweepDir, File), holder = Path.Combine(sweepDir, HolderFile);
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            Atomic.WriteText(holder, Json.Serialize(ProcessRef.Current()));
            return new SweepLock(stream, holder);
        }
        catch (IOException) when (System.IO.File.Exists(path))
        {
            ProcessRef? who = null;
            try { who = Json.Deserialize<ProcessRef>(BoundedFile.ReadText(holder, 1 << 16)); }
            catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException) { }
            throw new SweepBusyException($"sweep {Path.GetFileName(sweepDir)} is being run by another exprunner ({who?.ToString() ?? "holder unknown"}" +
                $"{(who?.Started is { } s ? $", since {s.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC" : "")}); wait for it to end, or stop it first");
        }
    }

    public void Dispose()
    {
        try { System.IO.File.Delete(_holder); } catch (IOException) { }
        _stream.Dispose();
    }
}

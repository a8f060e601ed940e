using System.Diagnostics;

namespace ExpRunner.Tracking;

/// <summary>
/// A process as others can find it again: host, pid and start time (a pid alone may have been
/// reused). The one rule for "is it still alive", shared by run folders, sweeps and their locks.
/// </summary>
public sealed record ProcessRef(string Host, int Pid, DateTimeOffset? Started) : IO.IJsonRecord<ProcessRef>
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<ProcessRef> JsonInfo(bool compact) => TrackingJson.Of(compact).ProcessRef;

    public static ProcessRef Current() => new(Environment.MachineName, Environment.ProcessId, StartOf(Process.GetCurrentProcess()));

    public static ProcessRef Of(Process process) => new(Environment.MachineName, process.Id, StartOf(process));

    [System.Text.Json.Serialization.JsonIgnore]
    public bool OnThisHost => string.Equals(Host, Environment.MachineName, StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the process still runs: null when it ran on another host (this one cannot tell).</summary>
    public bool? IsAlive()
    {
        if (!OnThisHost) return null;
        try
        {
            using var p = Process.GetProcessById(Pid);
            if (p.HasExited) return false;
            // The pid was reused by another process if the start times differ.
            return Started is not { } started || StartOf(p) is not { } now || Math.Abs((now - started).TotalSeconds) <= 2;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    public override string ToString() => $"pid {Pid} on {Host}";

    private static DateTimeOffset? StartOf(Process p)
    {
        try { return new DateTimeOffset(p.StartTime.ToUniversalTime(), TimeSpan.Zero); }
        catch (InvalidOperationException) { return null; }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}

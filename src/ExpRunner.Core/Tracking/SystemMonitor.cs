using System.Globalization;

namespace ExpRunner.Tracking;

/// <summary>
/// Samples the machine a run trains on, as MLflow's own client does (its system/… metrics): CPU
/// and memory use, the disk of the runs directory, network traffic since the run started. Read from
/// /proc where there is one; what cannot be read is left out of a sample.
/// </summary>
public sealed class SystemMonitor
{
    public static readonly string[] Keys =
    [
        "cpu_utilization_percentage", "system_memory_usage_megabytes", "system_memory_usage_percentage",
        "disk_usage_percentage", "disk_usage_megabytes", "disk_available_megabytes",
        "network_receive_megabytes", "network_transmit_megabytes",
    ];

    private readonly string _disk;
    private (long Busy, long Total)? _cpu;
    private readonly (long Rx, long Tx)? _network0;
    private long _step;

    public SystemMonitor(string diskPath)
    {
        _disk = diskPath;
        _cpu = Cpu();
        _network0 = Network();
    }

    public SystemSample Sample(DateTimeOffset at)
    {
        var values = new Dictionary<string, double>();
        if (Cpu() is { } cpu && _cpu is { } last && cpu.Total > last.Total)
            values["cpu_utilization_percentage"] = Math.Round(100.0 * (cpu.Busy - last.Busy) / (cpu.Total - last.Total), 1);
        _cpu = Cpu() ?? _cpu;
        if (Memory() is { } mem)
        {
            values["system_memory_usage_megabytes"] = Math.Round((mem.Total - mem.Available) / 1024.0, 1);
            values["system_memory_usage_percentage"] = Math.Round(100.0 * (mem.Total - mem.Available) / mem.Total, 1);
        }
        try
        {
            var drive = new DriveInfo(Path.GetFullPath(_disk));
            double used = drive.TotalSize - drive.AvailableFreeSpace;
            values["disk_usage_megabytes"] = Math.Round(used / (1 << 20), 1);
            values["disk_available_megabytes"] = Math.Round(drive.AvailableFreeSpace / (double)(1 << 20), 1);
            values["disk_usage_percentage"] = Math.Round(100 * used / drive.TotalSize, 1);
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { }
        if (Network() is { } net && _network0 is { } start)
        {
            values["network_receive_megabytes"] = Math.Round((net.Rx - start.Rx) / (double)(1 << 20), 3);
            values["network_transmit_megabytes"] = Math.Round((net.Tx - start.Tx) / (double)(1 << 20), 3);
        }
        return new SystemSample(_step++, at, values);
    }

    private static (long Busy, long Total)? Cpu()
    {
        var line = ReadLines("/proc/stat")?.FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        if (line is null) return null;
        var n = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.TryParse(v, CultureInfo.InvariantCulture, out long x) ? x : 0).ToArray();
        if (n.Length < 5) return null;
        long idle = n[3] + n[4], total = n.Sum();
        return (total - idle, total);
    }

    private static (double Total, double Available)? Memory()
    {
        var lines = ReadLines("/proc/meminfo");
        double? Kb(string key) => lines?.FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal)) is { } l
            && double.TryParse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture, out double v) ? v : null;
        return Kb("MemTotal") is { } total && Kb("MemAvailable") is { } available && total > 0 ? (total, available) : null;
    }

    private static (long Rx, long Tx)? Network()
    {
        var lines = ReadLines("/proc/net/dev");
        if (lines is null) return null;
        long rx = 0, tx = 0;
        foreach (var l in lines.Skip(2))
        {
            var parts = l.Split(':', 2);
            if (parts.Length != 2 || parts[0].Trim() == "lo") continue;
            var f = parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 9 && long.TryParse(f[0], CultureInfo.InvariantCulture, out long r) && long.TryParse(f[8], CultureInfo.InvariantCulture, out long t)) { rx += r; tx += t; }
        }
        return (rx, tx);
    }

    private static string[]? ReadLines(string path)
    {
        try { return File.Exists(path) ? File.ReadAllLines(path) : null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }
}

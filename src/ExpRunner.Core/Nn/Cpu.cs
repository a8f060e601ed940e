namespace ExpRunner.Nn;

/// <summary>
/// What the kernels size their blocks by, read from the CPU they run on once per process. Blocks only decide
/// which values sit in cache when, never the order of any sum, so results do not depend on them.
/// </summary>
public static class Cpu
{
    /// <summary>One core's L1 data cache in bytes (Linux reports it in sysfs; 32 KB where it cannot be read). Tests set it to
    /// show that results do not depend on it.</summary>
    public static int L1DataBytes { get; internal set; } = CacheBytes(level: 1, "Data") is var b and >= 16384 and <= 1 << 20 ? b : 32768;

    private static int CacheBytes(int level, string type)
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/sys/devices/system/cpu/cpu0/cache", "index*"))
            {
                string Read(string f) => File.ReadAllText(Path.Combine(dir, f)).Trim();
                if (Read("level") != level.ToString(System.Globalization.CultureInfo.InvariantCulture) || Read("type") != type) continue;
                string size = Read("size"); // "32K", "1024K", "1M"
                int unit = size.EndsWith('K') ? 1024 : size.EndsWith('M') ? 1 << 20 : 1;
                return int.TryParse(size.TrimEnd('K', 'M'), System.Globalization.CultureInfo.InvariantCulture, out int n) ? n * unit : 0;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }
}

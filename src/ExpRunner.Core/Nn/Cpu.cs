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

    /// <summary>
    /// The CPU as a run records it and the benchmarks print it: its model name, its microarchitecture where known (under
    /// a hypervisor the name is often only "AMD EPYC"; which Zen it is decides how fast each kernel family runs) and its
    /// L1 data and L2 caches, e.g. "AMD EPYC (Zen 2; L1d 32 KB, L2 512 KB)".
    /// </summary>
    public static string Description { get; } = Describe();

    private static string Describe()
    {
        var info = new Dictionary<string, string>();
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.Length == 0) break; // the first processor's block
                int colon = line.IndexOf(':');
                if (colon > 0) info.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim());
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        string name = info.GetValueOrDefault("model name") ?? System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        int Number(string key) => int.TryParse(info.GetValueOrDefault(key), System.Globalization.CultureInfo.InvariantCulture, out int v) ? v : -1;
        string? arch = Microarchitecture(info.GetValueOrDefault("vendor_id") ?? "", Number("cpu family"), Number("model"), Number("stepping"));
        var parts = new List<string>();
        if (arch is not null && !name.Contains(arch, StringComparison.Ordinal)) parts.Add(arch);
        int l1 = CacheBytes(1, "Data"), l2 = CacheBytes(2, "Unified");
        if (l1 > 0 && l2 > 0) parts.Add($"L1d {Size(l1)}, L2 {Size(l2)}");
        return parts.Count == 0 ? name : $"{name} ({string.Join("; ", parts)})";
    }

    private static string Size(int bytes) => bytes >= 1 << 20 && bytes % (1 << 20) == 0
        ? $"{bytes >> 20} MB" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes >> 10} KB");

    /// <summary>The microarchitecture of an x86 CPU from its family, model and stepping (AMD's Zen generations, Intel's server parts), or null.</summary>
    internal static string? Microarchitecture(string vendor, int family, int model, int stepping) => vendor switch
    {
        "AuthenticAMD" => family switch
        {
            0x17 => model >= 0x30 ? "Zen 2" : "Zen/Zen+",
            0x19 => model is >= 0x10 and <= 0x1f or >= 0x60 and <= 0x7f or >= 0xa0 and <= 0xaf ? "Zen 4" : "Zen 3",
            0x1a => "Zen 5",
            _ => null,
        },
        "GenuineIntel" when family == 6 => model switch
        {
            0x55 => stepping >= 10 ? "Cooper Lake" : stepping >= 5 ? "Cascade Lake" : "Skylake-SP",
            0x6a or 0x6c => "Ice Lake-SP",
            0x8f => "Sapphire Rapids",
            0xcf => "Emerald Rapids",
            0xad or 0xae => "Granite Rapids",
            _ => null,
        },
        _ => null,
    };

    internal static int CacheBytes(int level, string type)
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

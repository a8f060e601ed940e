using ExpRunner.Nn;

namespace ExpRunner.Tests.Nn;

/// <summary>The CPU as runs record it and benchmarks print it, and the cache sizes the kernels' blocks are sized by.</summary>
public class CpuTests
{
    [Theory]
    [InlineData("AuthenticAMD", 0x17, 0x01, 2, "Zen/Zen+")]       // Naples
    [InlineData("AuthenticAMD", 0x17, 0x31, 0, "Zen 2")]          // Rome (this project's Zen 2 VMs: family 23, model 49)
    [InlineData("AuthenticAMD", 0x19, 0x01, 1, "Zen 3")]          // Milan
    [InlineData("AuthenticAMD", 0x19, 0x11, 1, "Zen 4")]          // Genoa
    [InlineData("AuthenticAMD", 0x19, 0x61, 2, "Zen 4")]          // Raphael
    [InlineData("AuthenticAMD", 0x19, 0xa0, 1, "Zen 4")]          // Bergamo
    [InlineData("AuthenticAMD", 0x1a, 0x02, 0, "Zen 5")]          // Turin
    [InlineData("GenuineIntel", 6, 0x55, 11, "Cooper Lake")]
    [InlineData("GenuineIntel", 6, 0x55, 7, "Cascade Lake")]
    [InlineData("GenuineIntel", 6, 0x55, 4, "Skylake-SP")]
    [InlineData("GenuineIntel", 6, 0x8f, 8, "Sapphire Rapids")]
    [InlineData("GenuineIntel", 6, 0x3c, 3, null)]                // a client part the table does not name
    [InlineData("HygonGenuine", 0x18, 0x01, 1, null)]
    public void The_microarchitecture_is_named_from_family_and_model(string vendor, int family, int model, int stepping, string? expected) =>
        Assert.Equal(expected, Cpu.Microarchitecture(vendor, family, model, stepping));

    [Fact]
    public void The_description_names_the_model_and_the_caches_the_blocks_are_sized_by()
    {
        string model = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("model name", StringComparison.Ordinal)).Split(':', 2)[1].Trim();
        Assert.StartsWith(model, Cpu.Description, StringComparison.Ordinal);
        string l1 = File.ReadAllText("/sys/devices/system/cpu/cpu0/cache/index0/size").Trim(); // e.g. 32K
        Assert.Contains($"L1d {l1.TrimEnd('K')} KB", Cpu.Description, StringComparison.Ordinal);
        // What L1DataBytes starts from (the property itself is set by GemmTests while they run).
        Assert.Equal(int.Parse(l1.TrimEnd('K'), System.Globalization.CultureInfo.InvariantCulture) * 1024, Cpu.CacheBytes(1, "Data"));
    }
}

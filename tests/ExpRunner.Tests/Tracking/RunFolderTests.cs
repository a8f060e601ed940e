using System.Buffers.Binary;
using System.Text.Json;
using ExpRunner.Tests.Support;
using ExpRunner.IO;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Tracking;

public class RunFolderTests
{
    [Fact]
    public void Safetensors_files_follow_the_format_and_read_back()
    {
        using var dir = new TempDir();
        var w = new Tensor("layers.0.weight", [2, 3], F32: [1, 2, 3, 4, 5, 6]);
        var b = new Tensor("layers.0.bias", [2], F32: [0.5f, -0.5f]);
        Safetensors.Write(dir.File("m.safetensors"), [w, b], new Dictionary<string, string> { ["format"] = "test" });

        byte[] bytes = File.ReadAllBytes(dir.File("m.safetensors"));
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var weight = header.RootElement.GetProperty("layers.0.weight");
        Assert.Equal("F32", weight.GetProperty("dtype").GetString());
        Assert.Equal([2, 3], weight.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([0L, 24L], weight.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal("test", header.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());
        Assert.Equal(8 + (long)n + 32, bytes.Length);
        Assert.Equal(6f, BitConverter.ToSingle(bytes, 8 + (int)n + 20));

        var (tensors, meta) = Safetensors.Read(dir.File("m.safetensors"));
        Assert.Equal(w.F32, tensors[0].F32);
        Assert.Equal(b.F32, tensors[1].F32);
        Assert.Equal("test", meta["format"]);
    }

    [Fact]
    public void A_running_record_whose_process_is_gone_shows_as_crashed()
    {
        var alive = new RunRecord { Id = "a", Experiment = "x", Status = RunStatus.Running, Started = DateTimeOffset.UtcNow,
            Host = Environment.MachineName, Pid = Environment.ProcessId, ProcessStart = new DateTimeOffset(System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime(), TimeSpan.Zero) };
        Assert.Equal(RunStatus.Running, RunFolder.EffectiveStatus(alive));
        using var child = System.Diagnostics.Process.Start("true")!;
        child.WaitForExit();
        Assert.Equal(RunStatus.Crashed, RunFolder.EffectiveStatus(alive with { Pid = child.Id }));
        Assert.Equal(RunStatus.Crashed, RunFolder.EffectiveStatus(alive with { ProcessStart = alive.ProcessStart!.Value.AddHours(-1) }));
        Assert.Equal(RunStatus.Finished, RunFolder.EffectiveStatus(alive with { Status = RunStatus.Finished, Pid = child.Id }));
    }

    [Fact]
    public void New_run_folders_never_collide_even_in_the_same_second()
    {
        using var dir = new TempDir();
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 200).AsParallel().Select(_ => RunFolder.Create(dir.Path, "same", now).Id).ToList();
        Assert.Equal(200, ids.Distinct().Count());
    }

    [Fact]
    public void A_metrics_line_cut_short_by_a_crash_is_skipped_when_read()
    {
        using var dir = new TempDir();
        var f = RunFolder.Create(dir.Path, "x", DateTimeOffset.UtcNow);
        File.WriteAllText(f.PathOf(RunFolder.MetricsFile), RunFolder.MetricsHeader + "\n1,train,10,0.5,0.9,0.1,1,1700000000000\n2,train,20,0.4");
        Assert.Single(f.ReadMetrics());
    }
}

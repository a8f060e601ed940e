using System.Buffers.Binary;
using System.Text;
using ExpRunner.IO;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>Run folders read back (eval, predict, export): checked before they are trusted.</summary>
public class SavedRunTests
{
    private const string CsvConfig = """
        name: saved
        seed: 4
        dataset: { name: csv, path: data.csv, test_split: 0.25 }
        model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, epochs: 20, batch_size: 8 }
        """;

    private static string Trained(TempDir dir)
    {
        dir.Write("data.csv", "x,y,label\n" + string.Join("\n", Enumerable.Range(0, 80).Select(i => $"{i % 9},{i % 4},{(i % 9 > 4 ? 1 : 0)}")) + "\n");
        string config = dir.Write("saved.yaml", CsvConfig.Replace("path: data.csv", $"path: {dir.File("data.csv")}"));
        var r = InProcess.Run("run", config, "--runs", dir.File("runs"), "-q");
        Assert.True(r.ExitCode == 0, r.ToString());
        return Directory.GetDirectories(dir.File("runs/saved")).Single();
    }

    [Fact]
    public void Eval_refuses_a_config_edited_after_training_instead_of_scoring_another_network()
    {
        using var dir = new TempDir();
        string run = Trained(dir);
        string config = Path.Combine(run, RunFolder.ConfigFile);
        File.WriteAllText(config, File.ReadAllText(config).Replace("activation: tanh", "activation: relu"));
        var r = InProcess.Run("eval", run);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("model.layers.0.activation is relu, the weights were trained with tanh", r.Stderr);
    }

    [Fact]
    public void Eval_warns_when_the_data_is_not_the_data_the_run_trained_on()
    {
        using var dir = new TempDir();
        string run = Trained(dir);
        File.AppendAllText(dir.File("data.csv"), "3,3,0\n");
        var r = InProcess.Run("eval", run, "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"warning: the data changed since training: {dir.File("data.csv")}: SHA-256", r.Stderr);
    }

    /// <summary>A safetensors file with the given header and data bytes.</summary>
    private static void Weights(string path, string header, int dataBytes, long padTo = 0)
    {
        var json = Encoding.UTF8.GetBytes(header);
        using var fs = new FileStream(path, FileMode.Create);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)json.Length);
        fs.Write(len);
        fs.Write(json);
        fs.Write(new byte[dataBytes]);
        if (padTo > 0) fs.SetLength(padTo); // sparse: costs no disk
    }

    [Theory]
    [InlineData("""{"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}""", 8, "data_offsets [-8, 0] outside the 8 data bytes")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}""", 8, "needs 12 bytes, its offsets give 8")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}""", 8, "outside the 8 data bytes")]
    [InlineData("""{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", 12, "tensors 'a' and 'b' overlap")]
    [InlineData("""{"w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}""", 8, "only F32 and F64 are supported")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}""", 4, "not a list of non-negative integers")]
    [InlineData("""[1, 2]""", 0, "the header is not a JSON object")]
    [InlineData("""{"w": {"dtype": "F32", "shape": [1]}}""", 4, "needs dtype, shape and two data_offsets")]
    public void A_safetensors_header_is_checked_before_any_data_is_read(string header, int dataBytes, string message)
    {
        using var dir = new TempDir();
        Weights(dir.File("m.safetensors"), header, dataBytes);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.ReadHeader(dir.File("m.safetensors")));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Only_the_tensors_asked_for_are_read_from_a_large_file()
    {
        using var dir = new TempDir();
        Weights(dir.File("big.safetensors"), """{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", 8, padTo: 1L << 30);
        var header = Safetensors.ReadHeader(dir.File("big.safetensors"));
        Assert.Equal(2, Safetensors.Load(header, header["w"]!).Length);
    }

    [Fact]
    public void Export_writes_named_csv_files_with_headers_and_writes_nothing_from_a_broken_file()
    {
        using var dir = new TempDir();
        string run = Trained(dir);
        var ok = InProcess.Run("export", run, "--out", dir.File("out"));
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Equal(["layers.0.bias.csv", "layers.0.weight.csv", "layers.1.bias.csv", "layers.1.weight.csv"],
            Directory.GetFiles(dir.File("out")).Select(Path.GetFileName).Order());
        Assert.Equal("out,in_0,in_1", File.ReadLines(dir.File("out/layers.0.weight.csv")).First());

        string weights = Path.Combine(run, RunFolder.WeightsFile);
        using (var fs = new FileStream(weights, FileMode.Open)) fs.SetLength(fs.Length - 4); // truncated
        var bad = InProcess.Run("export", run, "--out", dir.File("bad"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("not a valid safetensors file", bad.Stderr);
        Assert.False(Directory.Exists(dir.File("bad")));
    }
}

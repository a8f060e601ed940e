using System.ComponentModel;
using System.Globalization;
using System.Text;
using ExpRunner.Tracking;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class ExportSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("A run folder, or a run id under the runs directory.")]
    public string Run { get; init; } = "";

    [CommandOption("--out <DIR>"), Description("Output folder (default: RUN/export).")]
    public string? Out { get; init; }

    [CommandOption("--weights <FILE>"), Description("model.safetensors (default) or init.safetensors.")]
    public string Weights { get; init; } = RunFolder.WeightsFile;

}

/// <summary>
/// `exprunner export`: one CSV per tensor, named as the tensor (layers.0.weight.csv: a header
/// `out,in_0,…`, then one row per output unit; layers.0.bias.csv: `out,bias`), invariant culture,
/// round-trip precision. Everything is read and checked before the first file is written.
/// </summary>
public sealed class ExportCommand(CliContext cli) : Command<ExportSettings>
{
    public override int Execute(CommandContext context, ExportSettings settings, CancellationToken cancellation)
    {
        var folder = RunLocator.Resolve(settings.Run, cli.RunsRoot(settings.Runs));
        string path = folder.PathOf(settings.Weights);
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: no such weights file");
        var (tensors, _) = IO.Safetensors.Read(path);
        var files = new List<(string Name, string Text)>();
        for (int l = 0; l < tensors.Count / 2 || (l == 0 && tensors.Count == 0); l++)
        {
            var w = tensors.FirstOrDefault(t => t.Name == $"layers.{l}.weight");
            var b = tensors.FirstOrDefault(t => t.Name == $"layers.{l}.bias");
            if (w is null || b is null || w.Shape.Length != 2 || b.Shape.Length != 1 || b.Shape[0] != w.Shape[0])
                throw new InvalidDataException($"{path}: expected tensors layers.{l}.weight [out, in] and layers.{l}.bias [out] (what `exprunner run` writes)");
            files.Add(($"{w.Name}.csv", Csv(w, w.Shape[1], "out," + string.Join(",", Enumerable.Range(0, w.Shape[1]).Select(i => $"in_{i}")))));
            files.Add(($"{b.Name}.csv", Csv(b, 1, "out,bias")));
        }
        if (files.Count != tensors.Count) throw new InvalidDataException($"{path}: holds tensors other than layers.N.weight and layers.N.bias");
        string outDir = settings.Out ?? Path.Combine(folder.Dir, "export");
        Directory.CreateDirectory(outDir);
        foreach (var (name, text) in files)
        {
            IO.Atomic.WriteText(Path.Combine(outDir, name), text);
            cli.Line(Path.Combine(outDir, name));
        }
        return ExitCodes.Ok;
    }

    private static string Csv(IO.Tensor t, int cols, string header)
    {
        var sb = new StringBuilder(header).Append('\n');
        for (int r = 0; r < t.Length / cols; r++)
        {
            sb.Append(r.ToString(CultureInfo.InvariantCulture));
            for (int c = 0; c < cols; c++) sb.Append(',').Append(t[r * cols + c].ToString("R", CultureInfo.InvariantCulture));
            sb.Append('\n');
        }
        return sb.ToString();
    }
}

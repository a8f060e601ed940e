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
/// `exprunner export`: one CSV per tensor (layer1_weights.csv: one row per output unit, one column
/// per input; layer1_biases.csv: one value per line), invariant culture, round-trip precision.
/// </summary>
public sealed class ExportCommand(CliContext cli) : Command<ExportSettings>
{
    public override int Execute(CommandContext context, ExportSettings settings, CancellationToken cancellation)
    {
        var folder = RunLocator.Resolve(settings.Run, cli.RunsRoot(settings.Runs));
        string path = folder.PathOf(settings.Weights);
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: no such weights file");
        var (tensors, _) = IO.Safetensors.Read(path);
        string outDir = settings.Out ?? Path.Combine(folder.Dir, "export");
        Directory.CreateDirectory(outDir);
        foreach (var t in tensors)
        {
            var parts = t.Name.Split('.'); // layers.{i}.weight|bias
            int layer = int.Parse(parts[1], CultureInfo.InvariantCulture) + 1;
            string file = Path.Combine(outDir, $"layer{layer}_{(parts[2] == "weight" ? "weights" : "biases")}.csv");
            int cols = t.Shape.Length == 2 ? t.Shape[1] : 1;
            var sb = new StringBuilder();
            for (int i = 0; i < t.Length; i++)
            {
                sb.Append(t[i].ToString("R", CultureInfo.InvariantCulture));
                sb.Append((i + 1) % cols == 0 ? '\n' : ',');
            }
            IO.Atomic.WriteText(file, sb.ToString());
            cli.Line(file);
        }
        return ExitCodes.Ok;
    }
}

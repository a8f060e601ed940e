using System.ComponentModel;
using System.Text;
using ExpRunner.Tracking;
using ExpRunner.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class PredictSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("A run folder, or a run id under the runs directory.")]
    public string Run { get; init; } = "";

    [CommandOption("--index <N>"), Description("Position of the example in the split (default 0).")]
    public int Index { get; init; }

    [CommandOption("--split <SPLIT>"), Description("train, validation or test (default test).")]
    public string Split { get; init; } = "test";

}

/// <summary>`exprunner predict`: one example drawn in the terminal, its label, the prediction and class scores.</summary>
public sealed class PredictCommand(CliContext cli) : Command<PredictSettings>
{
    private const string Shades = " .:-=+*#%@";

    public override int Execute(CommandContext context, PredictSettings settings, CancellationToken cancellation)
    {
        var folder = RunLocator.Resolve(settings.Run, cli.RunsRoot(settings.Runs));
        var model = SavedModel.Open(folder.PathOf(RunFolder.ConfigFile), folder.PathOf(RunFolder.WeightsFile), EvalCommand.CompileWhileLoading(), EvalCommand.DataBase(folder));
        model.VectorBits = cli.VectorBits();
        foreach (var changed in model.ChangedData(folder.TryReadRecord()?.Dataset?.Sha256 ?? new Dictionary<string, string>())) cli.Warn($"the data changed since training: {changed}");
        var p = model.Predict(settings.Split, settings.Index);
        var names = p.Data.ClassNames;
        if (p.Data.HasPixels && p.Data.ImageWidth > 0)
            cli.Line(Draw(p.Data.Pixels(p.Example), p.Data.ImageWidth));
        else
            cli.Line("features: " + string.Join(", ", Enumerable.Range(0, p.Data.Features).Select(f => Common.F(p.Data.Feature(p.Example, f)))));
        bool right = p.Label == p.Predicted;
        cli.Out.MarkupLine($"{settings.Split} example {settings.Index}: label [bold]{Markup.Escape(names[p.Label])}[/], predicted " +
            $"[bold {(right ? "green" : "red")}]{Markup.Escape(names[p.Predicted])}[/] {(right ? "(correct)" : "(wrong)")}");
        var chart = new BarChart().Width(60).Label("class scores (output layer)");
        for (int c = 0; c < p.Scores.Length; c++)
        {
            string name = p.Scores.Length == 1 ? $"P({names[1]})" : names[c];
            chart.AddItem(Markup.Escape(name), Math.Round(p.Scores[c], 4), c == p.Predicted ? Color.Green : Color.Grey);
        }
        cli.Out.Write(chart);
        return ExitCodes.Ok;
    }

    /// <summary>Each pixel as two characters (terminal cells are about twice as tall as wide).</summary>
    public static string Draw(ReadOnlySpan<byte> pixels, int width)
    {
        var sb = new StringBuilder();
        sb.Append('+').Append('-', 2 * width).Append("+\n");
        for (int r = 0; r < pixels.Length / width; r++)
        {
            sb.Append('|');
            for (int c = 0; c < width; c++)
            {
                char ch = Shades[pixels[r * width + c] * (Shades.Length - 1) / 255];
                sb.Append(ch).Append(ch);
            }
            sb.Append("|\n");
        }
        sb.Append('+').Append('-', 2 * width).Append('+');
        return sb.ToString();
    }
}

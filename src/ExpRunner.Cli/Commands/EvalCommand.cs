using System.ComponentModel;
using ExpRunner.Tracking;
using ExpRunner.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class EvalSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("A run folder, or a run id under the runs directory.")]
    public string Run { get; init; } = "";

    [CommandOption("--split <SPLIT>"), Description("train, validation or test (default test).")]
    public string Split { get; init; } = "test";

    [CommandOption("--weights <FILE>"), Description("Weights file in the run folder (default model.safetensors; init.safetensors for the start).")]
    public string Weights { get; init; } = RunFolder.WeightsFile;


    [CommandOption("--threads <N>"), Description("Threads for the matrix products (default: the run's training.threads).")]
    public int? Threads { get; init; }

    [CommandOption("--json"), Description("Print loss, accuracy, confusion matrix and throughput as JSON.")]
    public bool Json { get; init; }
}

/// <summary>`exprunner eval`: loss, accuracy and confusion matrix of a run's saved weights.</summary>
public sealed class EvalCommand(CliContext cli) : Command<EvalSettings>
{
    public override int Execute(CommandContext context, EvalSettings settings, CancellationToken cancellation)
    {
        var folder = RunLocator.Resolve(settings.Run, cli.RunsRoot(settings.Runs));
        var model = SavedModel.Open(folder.PathOf(RunFolder.ConfigFile), folder.PathOf(settings.Weights), CompileWhileLoading(), DataBase(folder));
        model.VectorBits = cli.VectorBits();
        foreach (var changed in model.ChangedData(folder.TryReadRecord()?.Dataset?.Sha256 ?? new Dictionary<string, string>())) cli.Warn($"the data changed since training: {changed}");
        if (settings.Threads is { } threads)
            model.Threads = threads is >= 1 and <= 256 ? threads : throw new InputException($"--threads {threads}: must be between 1 and 256");
        var e = model.Evaluate(settings.Split);
        int k = e.Confusion.GetLength(0);
        if (settings.Json)
        {
            var rows = Enumerable.Range(0, k).Select(a => Enumerable.Range(0, k).Select(p => e.Confusion[a, p]).ToArray()).ToArray();
            cli.Print(Compact(IO.Json.SerializeAny(new { run = folder.Id, split = settings.Split, examples = e.Count, loss = e.Loss, accuracy = e.Accuracy, confusion = rows,
                seconds = e.Seconds, examples_per_second = e.ExamplesPerSecond, threads = model.Threads })));
            return ExitCodes.Ok;
        }
        cli.Out.MarkupLine($"[bold]{Markup.Escape(folder.Id)}[/] {settings.Split}: {e.Count} examples, loss {Common.F(e.Loss, "0.000000")}, accuracy [bold]{Common.F(e.Accuracy)}[/] "
            + $"[grey]({Common.F(e.Seconds, "0.000")} s, {Common.F(e.ExamplesPerSecond, "#,0")} examples/s on {model.Threads} thread{(model.Threads == 1 ? "" : "s")})[/]");
        var names = model.Data.Train.Data.ClassNames;
        var table = new Table().Border(TableBorder.Rounded).Title("confusion matrix (rows: true class, columns: predicted)");
        table.AddColumn("");
        for (int p = 0; p < k; p++) table.AddColumn(new TableColumn(Markup.Escape(Short(names[p]))).RightAligned());
        table.AddColumn(new TableColumn("recall").RightAligned());
        for (int a = 0; a < k; a++)
        {
            int total = 0;
            var cells = new List<string> { Markup.Escape(names[a]) };
            for (int p = 0; p < k; p++)
            {
                total += e.Confusion[a, p];
                string v = e.Confusion[a, p].ToString(Common.Inv);
                cells.Add(a == p ? $"[green]{v}[/]" : e.Confusion[a, p] == 0 ? $"[grey]{v}[/]" : v);
            }
            cells.Add(total == 0 ? "-" : Common.F((double)e.Confusion[a, a] / total, "0.000"));
            table.AddRow(cells.ToArray());
        }
        cli.Out.Write(table);
        return ExitCodes.Ok;
    }

    /// <summary>Arrays of numbers on one line each (a confusion matrix reads as a matrix, not 100 lines).</summary>
    private static string Compact(string json) =>
        System.Text.RegularExpressions.Regex.Replace(json, @"\[\s*(-?[\d.eE+-]+(?:\s*,\s*-?[\d.eE+-]+)*)\s*\]",
            m => "[" + string.Join(", ", m.Groups[1].Value.Split(',').Select(v => v.Trim())) + "]");

    private static string Short(string name) => name.Length <= 8 ? name : name[..7] + "…";

    /// <summary>With a core to spare, the numeric code compiles while the data loads.</summary>
    internal static Action<bool>? CompileWhileLoading() => ThreadBudget.SpareCore(null) ? float64 => _ = Startup.Numeric(float64) : null;

    /// <summary>Where a run's relative data paths are read from: the folder it ran in, when that is recorded and still there.</summary>
    internal static string? DataBase(RunFolder folder) => folder.TryReadRecord()?.WorkingDirectory is { } dir && Directory.Exists(dir) ? dir : null;
}

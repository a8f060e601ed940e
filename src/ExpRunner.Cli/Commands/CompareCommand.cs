using System.ComponentModel;
using ExpRunner.Compare;
using ExpRunner.Sweeps;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class CompareSettings : RunsSettings
{
    [CommandArgument(0, "[runs]"), Description("Run folders, folders of runs, or run ids (default: every run).")]
    public string[] Inputs { get; init; } = [];

    [CommandOption("--sweep <ID>"), Description("The trials of a sweep (id, prefix, or latest).")]
    public string? Sweep { get; init; }

    [CommandOption("--group-by <KEYS>"), Description("Comma-separated parameter keys; rows become groups (mean ± std, n).")]
    public string? GroupBy { get; init; }

    [CommandOption("--filter <EXPR>"), Description("MLflow search syntax plus or/parentheses, e.g. \"metrics.test_accuracy > 0.8\".")]
    public string? Filter { get; init; }

    [CommandOption("--sort <COLUMN>"), Description("Sort by a column (metrics.test_accuracy, params.KEY, ...); add asc or desc after it.")]
    public string? Sort { get; init; }

    [CommandOption("--format <FORMAT>"), Description("table (default), markdown, csv or json.")]
    public string Format { get; init; } = "table";

    [CommandOption("--all-params"), Description("Show every parameter, not only those that differ.")]
    public bool AllParams { get; init; }

    [CommandOption("--baseline <RUN>"), Description("Add each metric's difference to this run.")]
    public string? Baseline { get; init; }


    [CommandOption("--strict"), Description("A broken run folder is an error (exit 2), not a warning.")]
    public bool Strict { get; init; }

    [CommandOption("--plot <FILE>"), Description("Also write the learning curves of the compared runs or groups (.svg or .html).")]
    public string? Plot { get; init; }
}

/// <summary>`exprunner compare`: runs or groups of runs side by side, from their summary.json files only.</summary>
public sealed class CompareCommand(CliContext cli) : Command<CompareSettings>
{
    private static readonly string[] Formats = ["table", "markdown", "csv", "json"];

    public override int Execute(CommandContext context, CompareSettings settings, CancellationToken cancellation)
    {
        if (!Formats.Contains(settings.Format)) throw new InputException($"--format {settings.Format}: one of {string.Join(", ", Formats)}");
        string root = cli.RunsRoot(settings.Runs);
        var inputs = settings.Inputs.ToList();
        bool descending = false;
        // `--sort metrics.test_accuracy desc`: the direction arrives as a separate word.
        if (settings.Sort is not null && inputs.Count > 0 && inputs[^1] is "asc" or "desc" && !Directory.Exists(inputs[^1]))
        {
            descending = inputs[^1] == "desc";
            inputs.RemoveAt(inputs.Count - 1);
        }
        string? sort = settings.Sort?.Trim();
        if (sort is not null && sort.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var col, var dir] && dir is "asc" or "desc")
        {
            sort = col;
            descending = dir == "desc";
        }

        var filter = settings.Filter is null ? null : Filter.Parse(settings.Filter);

        var rows = Load(inputs, settings.Sweep, root, settings.Strict).ToList();
        RunRow? baseline = null;
        if (settings.Baseline is not null)
            baseline = RunRow.Load(RunLocator.Resolve(settings.Baseline, root)) ?? throw new InputException($"{settings.Baseline}: no summary to compare against");
        var comparison = Comparison.Build(rows, new ComparisonOptions
        {
            GroupBy = settings.GroupBy?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
            AllParams = settings.AllParams, Filter = filter, Sort = sort, Descending = descending, Baseline = baseline,
        });
        if (settings.Plot is { } plot) WritePlot(plot, comparison);
        switch (settings.Format)
        {
            case "markdown": cli.Print(Render.Markdown(comparison)); break;
            case "csv": cli.Print(Render.Csv(comparison)); break;
            case "json": cli.Print(Render.Json(comparison)); break;
            default: cli.Out.Write(Table(comparison, rows.Count)); break;
        }
        return ExitCodes.Ok;
    }

    public IEnumerable<RunRow> Load(IReadOnlyList<string> inputs, string? sweep, string root, bool strict)
    {
        var folders = new List<RunFolder>();
        if (sweep is not null)
        {
            var store = new SweepStore(root);
            folders.AddRange(store.Read(sweep).Trials.Select(store.RunDirOf).OfType<string>().Where(Directory.Exists).Select(RunFolder.Open));
        }
        foreach (var input in inputs)
        {
            if (Directory.Exists(input)) folders.AddRange(RunFolder.FindAll(input));
            else folders.Add(RunLocator.Resolve(input, root));
        }
        if (sweep is null && inputs.Count == 0) folders.AddRange(RunFolder.FindAll(root));
        var rows = folders.DistinctBy(f => f.Dir).AsParallel().AsOrdered().Select(f =>
        {
            try { return (Row: RunRow.Load(f), Problem: (string?)null); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return (Row: null, Problem: e.Message); }
        }).ToList();
        foreach (var (_, problem) in rows.Where(r => r.Problem is not null)) Common.Broken(cli, strict, new InvalidDataException(problem));
        return rows.Select(r => r.Row).OfType<RunRow>();
    }

    private void WritePlot(string file, Comparison c)
    {
        string ext = Path.GetExtension(file).ToLowerInvariant();
        if (ext is not (".svg" or ".html")) throw new InputException($"--plot {file}: the file must end in .svg or .html");
        var entries = c.Rows.Take(Plots.SvgChart.Palette.Length).Select(r =>
        {
            // A run is labelled by its id and the parameters that set it apart; a group by its values.
            string label = c.Grouped ? r.Label : r.Label + string.Concat(r.Cells.Where(kv => kv.Key.StartsWith("params.", StringComparison.Ordinal))
                .Select(kv => $" {kv.Key[7..]}={kv.Value.Text}"));
            return (label, (IReadOnlyList<IReadOnlyList<MetricRow>>)r.Runs.Select(x => RunFolder.Open(x.Dir).ReadMetrics()).ToList());
        }).ToList();
        string title = $"Learning curves of {c.Rows.Count} {(c.Grouped ? "groups (mean over runs)" : "runs")}";
        string svg = Plots.LearningCurves.Overlay(title, entries);
        IO.Atomic.WriteText(file, ext == ".html" ? Plots.SvgChart.Html(title, svg) : svg);
        if (c.Rows.Count > entries.Count) cli.Fail($"--plot: only the first {entries.Count} of {c.Rows.Count} rows are drawn (one colour each)");
        cli.Note($"wrote {file}");
    }

    private Table Table(Comparison c, int loaded)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Caption($"{c.Rows.Count} {(c.Grouped ? "groups" : "runs")} of {loaded} loaded; * marks the best value of a column");
        if (!c.Grouped) table.AddColumn("run"); // a group is named by its parameter columns
        foreach (var col in c.Columns)
            table.AddColumn(col.Kind == ColumnKind.Metric ? new TableColumn(Markup.Escape(col.Name)).RightAligned() : new TableColumn(Markup.Escape(col.Name)));
        foreach (var row in c.Rows)
        {
            var cells = c.Grouped ? new List<string>() : [Markup.Escape(row.Label)];
            foreach (var col in c.Columns)
            {
                row.Cells.TryGetValue(col.Key, out var cell);
                string text = Markup.Escape(Render.Text(cell, col));
                cells.Add(col.Kind == ColumnKind.Status ? StatusText(text) : cell?.Best == true ? $"[bold green]{text}*[/]" : text);
            }
            table.AddRow(cells.ToArray());
        }
        return table;
    }

    private static string StatusText(string text) => text.Contains(RunStatus.Failed) || text.Contains(RunStatus.Crashed) ? $"[red]{text}[/]"
        : text.Contains(RunStatus.Diverged) || text.Contains(RunStatus.Killed) ? $"[yellow]{text}[/]" : text;
}

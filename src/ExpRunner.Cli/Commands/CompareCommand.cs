using ExpRunner.Config;
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

    [CommandOption("--group-by <KEYS>"), Description("Comma-separated parameter keys; rows become groups: each metric's mean ± the half-width of its 95% confidence interval, and n.")]
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


    [CommandOption("--all-attempts"), Description("Also compare the earlier attempts of sweep trials that were run again (hidden by default).")]
    public bool AllAttempts { get; init; }

    [CommandOption("--strict"), Description("A broken run folder is an error (exit 2), not a warning.")]
    public bool Strict { get; init; }

    [CommandOption("--plot <FILE>"), Description("Also write the learning curves of the compared runs or groups (.svg or .html).")]
    public string? Plot { get; init; }

    [CommandOption("--steps"), Description("With --plot: per-step curves (batch loss and accuracy at every recorded step) instead of per epoch; groups as their mean with a band.")]
    public bool Steps { get; init; }

    [CommandOption("--probe <COLUMN>"), Description("With --plot --steps: also a panel of this probe (a steps.csv.gz column, e.g. layer0.weight.update_ratio); repeatable.")]
    public string[] Probes { get; init; } = [];

    public override Spectre.Console.ValidationResult Validate() =>
        Steps && Plot is null ? Spectre.Console.ValidationResult.Error("--steps goes with --plot FILE")
        : Probes.Length > 0 && !Steps ? Spectre.Console.ValidationResult.Error("--probe goes with --plot FILE --steps")
        : base.Validate();
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
        if (settings.Plot is { } plotFile)
        {
            // Checked before anything is read: the plot's folder must be there to write into.
            string folder = Path.GetDirectoryName(Path.GetFullPath(plotFile))!;
            if (!Directory.Exists(folder)) throw new InputException($"--plot {plotFile}: the folder {folder} does not exist");
            if (Directory.Exists(plotFile)) throw new InputException($"--plot {plotFile}: is a folder; give a file name ending in .svg or .html");
        }

        var groupBy = settings.GroupBy?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        // Every run, and nothing that needs each run's row (a filter, a baseline, a plot; for csv a sort or every param; for groups their ids in json):
        // answered where the index holds the runs — above MarkedRuns runs; fewer are read as rows (their same_config marks need them).
        bool everyRun = settings.Sweep is null && inputs.Count == 0 && filter is null && settings.Baseline is null && settings.Plot is null;
        List<RunRow>? read = null;
        if (everyRun && groupBy.Length > 0 && settings.Format != "json")
        {
            var (fast, rowsRead) = Common.IndexedOrRows(cli, root, settings.Strict, settings.AllAttempts, index =>
            {
                var (groups, runs, left, known) = index.Groups(groupBy, [.. Comparison.MetricColumns.Select(c => c.Name)], settings.AllAttempts, effective: true);
                foreach (var k in groupBy)
                    if (!known.Contains(k)) throw new CompareException($"cannot group by '{k}': no run has that param{Keys.Suggest(k, known.Order(StringComparer.Ordinal))}");
                return (Comparison: Comparison.FromGroups(groups, new ComparisonOptions { GroupBy = groupBy, Sort = sort, Descending = descending }), Runs: runs, Left: left);
            });
            if (fast is var (added, runs, left))
            {
                if (left > 0) cli.Note($"note: {left} earlier attempt{(left == 1 ? "" : "s")} of sweep trials run again left out (--all-attempts shows them)");
                Show(added, runs);
                return ExitCodes.Ok;
            }
            read = rowsRead;
        }
        else if (everyRun && settings.Format == "csv" && groupBy.Length == 0 && sort is null && !settings.AllParams)
        {
            var (fast, rowsRead) = Common.IndexedOrRows(cli, root, settings.Strict, settings.AllAttempts, index =>
            {
                using var text = new MemoryStream();
                var (_, left) = index.Csv(text, settings.AllAttempts);
                return (Text: System.Text.Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length), Left: left);
            });
            if (fast is var (csv, left))
            {
                if (left > 0) cli.Note($"note: {left} earlier attempt{(left == 1 ? "" : "s")} of sweep trials run again left out (--all-attempts shows them)");
                cli.Print(csv);
                return ExitCodes.Ok;
            }
            read = rowsRead;
        }
        var rows = read ?? Load(inputs, settings.Sweep, root, settings.Strict).ToList();
        int superseded = rows.Count(r => r.Superseded);
        if (!settings.AllAttempts && superseded > 0)
        {
            rows = rows.Where(r => !r.Superseded).ToList();
            cli.Note($"note: {superseded} earlier attempt{(superseded == 1 ? "" : "s")} of sweep trials run again left out (--all-attempts shows them)");
        }
        // --baseline: a group's label when grouping (unless it names a run), else a run.
        RunRow? baseline = null;
        string? baselineGroup = null;
        if (settings.Baseline is { } b)
        {
            bool names = Directory.Exists(b) || RunFolder.FindAll(root).Any(r => r.Id.StartsWith(b, StringComparison.Ordinal));
            if (groupBy.Length > 0 && !names) baselineGroup = b;
            else baseline = RunRow.Load(RunLocator.Resolve(b, root)) ?? throw new InputException($"{b}: no summary to compare against");
        }
        var comparison = Comparison.Build(rows, new ComparisonOptions
        {
            GroupBy = groupBy, AllParams = settings.AllParams, Filter = filter, Sort = sort, Descending = descending,
            Baseline = baseline, BaselineGroup = baselineGroup, TrainCount = TrainCount,
        });
        if (settings.Plot is { } plot)
            if (settings.Steps) WriteStepPlot(plot, comparison, settings.Probes);
            else WritePlot(plot, comparison);
        Show(comparison, rows.Count);
        return ExitCodes.Ok;

        void Show(Comparison comparison, int loaded)
        {
            switch (settings.Format)
            {
                case "markdown": cli.Print(Render.Markdown(comparison)); break;
                case "csv": cli.Print(Render.Csv(comparison)); break;
                case "json": cli.Print(Render.Json(comparison)); break;
                default: Table(comparison, loaded, [.. groupBy, .. sort is null ? [] : new[] { sort }, .. filter?.Keys ?? [], .. SweptKeys(settings.Sweep, root)]); break;
            }
        }
    }

    /// <summary>The runs to compare: of a sweep, of folders or ids given, else every run under the runs directory (through its index).</summary>
    public IEnumerable<RunRow> Load(IReadOnlyList<string> inputs, string? sweep, string root, bool strict)
    {
        var rows = new List<RunRow>();
        if (sweep is not null)
        {
            var store = new SweepStore(root);
            // In trial order.
            var order = new Dictionary<string, int>();
            foreach (var d in store.Read(sweep).Trials.Select(store.RunDirOf).OfType<string>()) order.TryAdd(d, order.Count);
            rows.AddRange(Common.IndexedRuns(cli, root, strict).Where(r => order.ContainsKey(r.Dir)).OrderBy(r => order[r.Dir]));
        }
        var folders = new List<RunFolder>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input)) folders.AddRange(RunFolder.FindAll(input));
            else folders.Add(RunLocator.Resolve(input, root));
        }
        if (sweep is null && inputs.Count == 0) return Common.IndexedRuns(cli, root, strict); // every run, once each
        var loaded = folders.DistinctBy(f => f.Dir).AsParallel().AsOrdered().Select(f =>
        {
            try { return (Row: RunRow.Load(f), Problem: (string?)null); }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { return (Row: null, Problem: e.Message); }
        }).ToList();
        foreach (var (_, problem) in loaded.Where(r => r.Problem is not null)) Common.Broken(cli, strict, new InvalidDataException(problem));
        return rows.Concat(loaded.Select(r => r.Row).OfType<RunRow>()).DistinctBy(r => r.Dir);
    }

    /// <summary>The entries of a plot: a run by its id's tail and the params that set it apart, a group by its values.</summary>
    private static List<(string Label, IReadOnlyList<RunRow> Runs)> Entries(Comparison c)
    {
        var shortKeys = Keys.Short(c.Columns.Where(x => x.Kind == ColumnKind.Param).Select(x => x.Name));
        return [.. c.Rows.Select(r =>
        {
            var values = c.Columns.Where(col => col.Kind == ColumnKind.Param && r.Cells.ContainsKey(col.Key))
                .Select(col => $"{shortKeys[col.Name]}={r.Cells[col.Key].Text}");
            string label = c.Grouped ? string.Join(" ", values) + $" (n={r.Size})" : string.Join(" ", values.Prepend(r.Label[^6..]));
            return (label, (IReadOnlyList<RunRow>)r.Runs);
        })];
    }

    private void WriteStepPlot(string file, Comparison c, IReadOnlyList<string> probes)
    {
        string ext = Path.GetExtension(file).ToLowerInvariant();
        if (ext is not (".svg" or ".html")) throw new InputException($"--plot {file}: the file must end in .svg or .html");
        var entries = Entries(c).Select(e => (e.Label, Records: (IReadOnlyList<StepRecord>)e.Runs.Take(50).Where(r => File.Exists(Path.Combine(r.Dir, StepLog.File)))
            .Select(r => StepLog.ReadRecord(Path.Combine(r.Dir, StepLog.File), live: r.Status == RunStatus.Running)).ToList())).ToList();
        if (entries.All(e => e.Records.Count == 0)) throw new InputException($"--steps: none of the {c.Rows.Count} compared rows has a per-step record (steps.csv.gz)");
        var known = entries.SelectMany(e => e.Records).SelectMany(r => r.ProbeColumns).Distinct().ToList();
        foreach (var p in probes)
            if (!known.Contains(p))
                throw new InputException(known.Count == 0 ? $"--probe {p}: these runs have no probes (their configs have no `probes:` block)"
                    : $"--probe {p}: no such probe in these runs{Keys.Suggest(p, known)}; they have {string.Join(", ", known.Take(8))}{(known.Count > 8 ? ", …" : "")}");
        string title = $"Every step of {c.Rows.Count} {(c.Grouped ? $"group{(c.Rows.Count == 1 ? "" : "s")} (mean, band: lowest to highest run)" : $"run{(c.Rows.Count == 1 ? "" : "s")}")}";
        string svg = Plots.LearningCurves.StepOverlay(title, entries, ["batch_loss", "batch_accuracy", .. probes]);
        IO.Atomic.WriteText(file, ext == ".html" ? Plots.SvgChart.Html(title, svg) : svg);
        cli.Note($"wrote {file}");
    }

    private void WritePlot(string file, Comparison c)
    {
        string ext = Path.GetExtension(file).ToLowerInvariant();
        if (ext is not (".svg" or ".html")) throw new InputException($"--plot {file}: the file must end in .svg or .html");
        var entries = Entries(c).Select(e =>
        {
            var metrics = (IReadOnlyList<IReadOnlyList<MetricRow>>)e.Runs.Select(x => RunFolder.Open(x.Dir).ReadMetrics()).ToList();
            // A pruned trial's curve stops where its sweep stopped it: said in its label and marked with an ×.
            bool pruned = !c.Grouped && e.Runs.Count == 1 && e.Runs[0].Status == RunStatus.Pruned;
            string label = pruned ? e.Label + $" (pruned at epoch {metrics[0].Select(m => m.Epoch).DefaultIfEmpty(0).Max()})" : e.Label;
            return (label, metrics, pruned);
        }).ToList();
        var marks = entries.Select((e, i) => (e, i)).Where(x => x.e.pruned).ToDictionary(x => x.i, _ => RunStatus.Pruned);
        string title = $"Learning curves of {c.Rows.Count} {(c.Grouped ? $"group{(c.Rows.Count == 1 ? "" : "s")} (mean, band: lowest to highest run)" : $"run{(c.Rows.Count == 1 ? "" : "s")}")}"
            + (marks.Count > 0 ? $"; × ends the {marks.Count} pruned" : "");
        string svg = Plots.LearningCurves.Overlay(title, entries.Select(e => (e.label, e.metrics)).ToList(), marks);
        IO.Atomic.WriteText(file, ext == ".html" ? Plots.SvgChart.Html(title, svg) : svg);
        cli.Note($"wrote {file}");
    }

    private static readonly Dictionary<string, (string Short, int Drop)> MetricFit = new()
    {
        ["test_accuracy"] = ("test acc", 0), ["test_loss"] = ("test loss", 6), ["validation_accuracy"] = ("val acc", 5),
        ["train_loss"] = ("train loss", 4), ["best_epoch"] = ("best ep", 3), ["epochs_run"] = ("epochs", 2), ["duration"] = ("secs", 1),
    };

    /// <summary>The comparison as a table that fits the terminal; what did not fit is said below it.</summary>
    private void Table(Comparison c, int loaded, IReadOnlyList<string> asked)
    {
        var columns = new List<FitColumn>();
        // A run by its id; when the table is tight, by its id's last six characters (unique enough beside the values that set it apart).
        if (!c.Grouped) columns.Add(new FitColumn("run", "run", c.Rows.Select(r => Markup.Escape(r.Label)).ToList(), NoWrap: true)
            { ShortCells = c.Rows.Select(r => Markup.Escape(r.Label.Length > 8 ? "…" + r.Label[^6..] : r.Label)).ToList() });
        var shortKeys = Keys.Short(c.Columns.Where(x => x.Kind == ColumnKind.Param).Select(x => x.Name));
        if (c.Grouped) // runs per group, once per row rather than in every cell
            columns.Add(new FitColumn("n", "n", c.Rows.Select(r => r.Size.ToString(Common.Inv)).ToList(), Right: true));
        int paramDrop = 100;
        foreach (var col in c.Columns)
        {
            var cells = c.Rows.Select(row =>
            {
                row.Cells.TryGetValue(col.Key, out var cell);
                string text = Markup.Escape(Render.Text(cell, col, count: false));
                return col.Kind == ColumnKind.Status ? StatusText(text) : cell?.Best == true ? $"[bold green]{text}*[/]" : text;
            }).ToList();
            bool wanted = asked.Contains(col.Key) || asked.Contains(col.Name);
            var (shortName, drop) = MetricFit.TryGetValue(col.Name, out var fit) ? fit : (col.Name, 7);
            columns.Add(col.Kind switch
            {
                ColumnKind.Param => new FitColumn(col.Name, shortKeys[col.Name], cells, wanted || c.Grouped ? 0 : paramDrop--) { Key = wanted },
                ColumnKind.Metric => new FitColumn(col.Name, shortName, cells, wanted ? 0 : drop, Right: true, NoWrap: !c.Grouped),
                _ => new FitColumn(col.Name, col.Name, cells, NoWrap: true),
            });
        }
        if (c.Grouped)
        {
            // n after the group's parameter columns
            var n = columns[0];
            columns.RemoveAt(0);
            columns.Insert(c.Columns.Count(x => x.Kind == ColumnKind.Param), n);
        }
        var (table, dropped) = TableFit.Build(columns, cli.Out.Profile.Width, cli.OutTerminal);
        cli.Out.Write(table);
        string what = c.Grouped ? Plural(c.Rows.Count, "group") : Plural(c.Rows.Count, "run");
        cli.Out.MarkupLine(Markup.Escape($"{what} of {loaded} loaded; * marks the best value of a column" + (Render.Legend(c) is { Length: > 0 } l ? "; " + l : "")));
        if (c.Equivalences)
            cli.Out.MarkupLine(Markup.Escape($"same_config: rows with one mark are one configuration run twice — {Equivalence.Rule}"));
        if (dropped.Count > 0)
            cli.Out.MarkupLine(Markup.Escape($"left out to fit {cli.Out.Profile.Width} columns: {string.Join(", ", dropped)} (a wider terminal, or --format csv, shows them)"));
    }

    /// <summary>The keys a compared sweep swept (kept in the table whatever its width).</summary>
    private static IReadOnlyList<string> SweptKeys(string? sweep, string root)
    {
        if (sweep is null) return [];
        try { return new Sweeps.SweepStore(root).Read(sweep).SweptKeys; }
        catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException) { return []; }
    }

    /// <summary>A run's training-set size, from its run.json (null when it cannot be read).</summary>
    internal static int? TrainCount(RunRow r)
    {
        try { return RunFolder.Open(r.Dir).ReadRecord()?.Dataset?.TrainCount; }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return null; }
    }

    private static string Plural(int n, string what) => $"{n} {what}{(n == 1 ? "" : "s")}";

    private static string StatusText(string text) => text.Contains(RunStatus.Failed) || text.Contains(RunStatus.Crashed) ? $"[red]{text}[/]"
        : text.Contains(RunStatus.Diverged) || text.Contains(RunStatus.Killed) ? $"[yellow]{text}[/]"
        : text.Contains(RunStatus.Pruned) ? $"[cyan]{text}[/]" : text;
}

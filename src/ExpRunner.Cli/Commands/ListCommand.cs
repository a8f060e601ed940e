using System.ComponentModel;
using ExpRunner.Compare;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class ListSettings : RunsSettings
{
    [CommandArgument(0, "[experiment]"), Description("Only runs of this experiment.")]
    public string? Experiment { get; init; }


    [CommandOption("--filter <EXPR>"), Description("Only runs matching this filter (the syntax of compare --filter).")]
    public string? Filter { get; init; }

    [CommandOption("--limit <N>"), Description("Show only the newest N runs (the table; --json has them all).")]
    public int? Limit { get; init; }

    [CommandOption("--json"), Description("The runs as a JSON array (id, experiment, status, start, epochs, final metrics, folder).")]
    public bool Json { get; init; }

    [CommandOption("--strict"), Description("A broken run folder is an error (exit 2), not a warning.")]
    public bool Strict { get; init; }
}

/// <summary>`exprunner list`: every run, newest first; a RUNNING run whose process died shows as CRASHED.</summary>
public sealed class ListCommand(CliContext cli) : Command<ListSettings>
{
    public override int Execute(CommandContext context, ListSettings settings, CancellationToken cancellation)
    {
        string root = cli.RunsRoot(settings.Runs);
        Common.Check(settings.Limit, "--limit", 1, int.MaxValue);
        var filter = settings.Filter is null ? null : Filter.Parse(settings.Filter);
        string M(RunRow r, string k, string format = "0.0000") => r.Metrics.TryGetValue(k, out var v) ? Common.F(v, format) : "-";
        // The columns, once: their text (a pipe, a file) and, on a terminal, their markup and how readily they give way.
        var columns = new List<(string Header, string Short, Func<RunRow, string> Text, Func<RunRow, string>? Markup, int Drop, bool Right, bool NoWrap)>
        {
            ("run", "run", r => r.Id, null, 0, false, true),
            ("experiment", "experiment", r => r.Experiment, null, 6, false, false),
            ("label", "label", r => r.Params.GetValueOrDefault(RunMeta.LabelKey) ?? "", null, 3, false, false),
            ("status", "status", r => r.Status + (r.Superseded ? " (superseded)" : ""), r => Common.StatusMarkup(r.Status) + (r.Superseded ? " [grey](superseded)[/]" : ""), 0, false, true),
            ("started (UTC)", "started", r => r.Started?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Common.Inv) ?? "-", null, 2, false, true),
            ("epochs", "ep", r => M(r, "epochs_run", "0"), null, 4, true, false),
            ("test acc", "acc", r => M(r, "test_accuracy"), null, 0, true, false),
            ("test loss", "loss", r => r.Metrics.TryGetValue("test_loss", out var l) ? Compare.Render.Number(l, "test_loss") : "-", null, 5, true, false),
            ("seconds", "s", r => M(r, "duration", "0.0"), null, 1, true, false),
        };
        const int LabelColumn = 2;
        if (filter is null && !settings.Json && settings.Limit is null && !cli.OutTerminal)
        {
            // Every run to a pipe or a file: of each run only what the listing shows is read, and its cells are made once.
            var listed = Common.Listing(cli, root, settings.Strict, settings.Experiment);
            // Each row's cells on both cores (formatting numbers and times is most of the work).
            var cells = listed.AsParallel().AsOrdered().Select(r =>
            {
                var row = new string[columns.Count];
                for (int i = 0; i < row.Length; i++) row[i] = columns[i].Text(r);
                return row;
            }).ToList();
            int count = listed.Count;
            listed.Clear();
            if (count == 0) return NoRuns(root, settings.Experiment, 0);
            if (cells.All(c => c[LabelColumn].Length == 0))
            {
                columns.RemoveAt(LabelColumn);
                for (int i = 0; i < cells.Count; i++) cells[i] = [.. cells[i][..LabelColumn], .. cells[i][(LabelColumn + 1)..]];
            }
            Aligned(columns.Select(c => (c.Header, c.Right)).ToList(), cells);
            return ExitCodes.Ok;
        }
        List<RunRow> rows;
        int total, all;
        if (filter is null && !settings.Json && settings.Limit is int limit)
        {
            // Only the newest N are read from the index.
            (rows, total) = Common.NewestRuns(cli, root, settings.Strict, limit, settings.Experiment);
            all = total;
        }
        else
        {
            var runs = Common.IndexedRuns(cli, root, settings.Strict, settings.Experiment);
            filter?.CheckKeys(runs);
            rows = [.. runs.Where(r => filter is null || filter.Matches(r)).Select(r => (Ticks: r.Started?.UtcTicks ?? long.MinValue, Row: r)).ToArray()
                .OrderDescending(Comparer<(long Ticks, RunRow Row)>.Create((a, b) => a.Ticks != b.Ticks ? a.Ticks.CompareTo(b.Ticks) : string.CompareOrdinal(a.Row.Id, b.Row.Id)))
                .Select(p => p.Row)];
            (total, all) = (rows.Count, runs.Count);
        }
        if (settings.Json)
        {
            cli.Print(IO.Json.SerializeAny(rows.Select(r => new
            {
                id = r.Id, experiment = r.Experiment, status = r.Status, started = r.Started, superseded = r.Superseded,
                label = r.Params.GetValueOrDefault(RunMeta.LabelKey),
                tags = r.Params.Where(p => p.Key.StartsWith(RunMeta.TagPrefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[RunMeta.TagPrefix.Length..], p => p.Value),
                epochs = r.Metrics.TryGetValue("epochs_run", out double e) ? (int?)e : null,
                final = r.Metrics.Where(m => m.Key is not ("epochs_run" or "duration" or "best_epoch")).ToDictionary(), folder = r.Dir,
            })));
            return ExitCodes.Ok;
        }
        if (rows.Count == 0) return NoRuns(root, settings.Experiment, all);
        var shown = rows.Take(settings.Limit ?? int.MaxValue).ToList();
        if (!shown.Any(r => r.Params.ContainsKey(RunMeta.LabelKey))) columns.RemoveAt(LabelColumn);
        if (!cli.OutTerminal)
        {
            Aligned(columns.Select(c => (c.Header, c.Right)).ToList(), [.. shown.Select(r => columns.Select(c => c.Text(r)).ToArray())]);
            if (shown.Count < total) cli.Note($"the newest {shown.Count} of {total} runs (--limit N shows more)");
            return ExitCodes.Ok;
        }
        var (table, dropped) = TableFit.Build([.. columns.Select(c => new FitColumn(c.Header, c.Short,
                shown.Select(r => c.Markup?.Invoke(r) ?? Markup.Escape(c.Text(r))).ToList(), c.Drop, c.Right, c.NoWrap)
            {
                // The run id gives way to its tail first.
                ShortCells = c.Header == "run" ? shown.Select(r => Markup.Escape(r.Id.Length > 8 ? "…" + r.Id[^6..] : r.Id)).ToList() : null,
            })], cli.Out.Profile.Width, cli.OutTerminal);
        cli.Out.Write(table);
        if (shown.Count < total) cli.Out.MarkupLine(Markup.Escape($"the newest {shown.Count} of {total} runs (--limit N shows more)"));
        if (dropped.Count > 0) cli.Out.MarkupLine(Markup.Escape($"left out to fit {cli.Out.Profile.Width} columns: {string.Join(", ", dropped)}"));
        return ExitCodes.Ok;
    }

    private int NoRuns(string root, string? experiment, int all)
    {
        cli.Out.MarkupLine(all == 0
            ? $"No runs under [bold]{Markup.Escape(root)}[/]{(experiment is null ? "" : $" of experiment {Markup.Escape(experiment)}")}. Start one with [bold]exprunner run experiments/xor.yaml[/]."
            : $"None of the {all} run{(all == 1 ? "" : "s")} under [bold]{Markup.Escape(root)}[/] match{(all == 1 ? "es" : "")} the filter.");
        return ExitCodes.Ok;
    }

    /// <summary>For a pipe or a file: every column, plain and aligned, written in pieces as it is made.</summary>
    /// <summary>For a pipe or a file: every column, plain and aligned; the lines made on both cores in blocks, written in order.</summary>
    private void Aligned(IReadOnlyList<(string Header, bool Right)> columns, List<string[]> cells)
    {
        var widths = new int[columns.Count];
        for (int i = 0; i < widths.Length; i++) widths[i] = columns[i].Header.Length;
        foreach (var row in cells)
            for (int i = 0; i < widths.Length; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        void Line(System.Text.StringBuilder text, IReadOnlyList<string> values)
        {
            int start = text.Length;
            for (int i = 0; i < values.Count; i++)
            {
                if (i > 0) text.Append("  ");
                if (columns[i].Right) text.Append(' ', widths[i] - values[i].Length).Append(values[i]);
                else text.Append(values[i]).Append(' ', widths[i] - values[i].Length);
            }
            int end = text.Length;
            while (end > start && text[end - 1] == ' ') end--;
            text.Length = end;
            text.Append('\n');
        }
        var header = new System.Text.StringBuilder();
        Line(header, [.. columns.Select(c => c.Header)]);
        cli.Print(header.ToString());
        const int Block = 2000;
        var blocks = Enumerable.Range(0, (cells.Count + Block - 1) / Block).AsParallel().AsOrdered().Select(b =>
        {
            var text = new System.Text.StringBuilder(Block * 100);
            for (int i = b * Block; i < Math.Min(cells.Count, (b + 1) * Block); i++) Line(text, cells[i]);
            return text.ToString();
        });
        foreach (var block in blocks) cli.Print(block);
    }
}

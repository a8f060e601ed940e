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
        if (rows.Count == 0)
        {
            cli.Out.MarkupLine(all == 0
                ? $"No runs under [bold]{Markup.Escape(root)}[/]{(settings.Experiment is null ? "" : $" of experiment {Markup.Escape(settings.Experiment)}")}. Start one with [bold]exprunner run experiments/xor.yaml[/]."
                : $"None of the {all} run{(all == 1 ? "" : "s")} under [bold]{Markup.Escape(root)}[/] match{(all == 1 ? "es" : "")} the filter.");
            return ExitCodes.Ok;
        }
        string M(RunRow r, string k, string format = "0.0000") => r.Metrics.TryGetValue(k, out var v) ? Common.F(v, format) : "-";
        var shown = rows.Take(settings.Limit ?? int.MaxValue).ToList();
        if (!cli.OutTerminal)
        {
            // For a pipe or a file: every column, plain and aligned, written as it is made (100,000 runs in well under a second).
            var plain = new List<(string Header, Func<RunRow, string> Cell, bool Right)>
            {
                ("run", r => r.Id, false), ("experiment", r => r.Experiment, false), ("status", r => r.Status + (r.Superseded ? " (superseded)" : ""), false),
                ("started (UTC)", r => r.Started?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Common.Inv) ?? "-", false),
                ("epochs", r => M(r, "epochs_run", "0"), true), ("test acc", r => M(r, "test_accuracy"), true),
                ("test loss", r => r.Metrics.TryGetValue("test_loss", out var l) ? Compare.Render.Number(l, "test_loss") : "-", true), ("seconds", r => M(r, "duration", "0.0"), true),
            };
            if (shown.Any(r => r.Params.ContainsKey(RunMeta.LabelKey))) plain.Insert(2, ("label", r => r.Params.GetValueOrDefault(RunMeta.LabelKey) ?? "", false));
            var cells = shown.Select(r => plain.Select(c => c.Cell(r)).ToArray()).ToList();
            var widths = plain.Select((c, i) => Math.Max(c.Header.Length, cells.Count == 0 ? 0 : cells.Max(row => row[i].Length))).ToArray();
            string Line(IReadOnlyList<string> values) => string.Join("  ", values.Select((v, i) => plain[i].Right ? v.PadLeft(widths[i]) : v.PadRight(widths[i]))).TrimEnd();
            var text = new System.Text.StringBuilder();
            text.Append(Line(plain.Select(c => c.Header).ToList())).Append('\n');
            foreach (var row in cells)
            {
                text.Append(Line(row)).Append('\n');
                if (text.Length > 1 << 16) { cli.Print(text.ToString()); text.Clear(); }
            }
            cli.Print(text.ToString());
            if (shown.Count < total) cli.Note($"the newest {shown.Count} of {total} runs (--limit N shows more)");
            return ExitCodes.Ok;
        }
        var (table, dropped) = TableFit.Build(
        [
            new FitColumn("run", "run", shown.Select(r => Markup.Escape(r.Id)).ToList(), NoWrap: true)
                { ShortCells = shown.Select(r => Markup.Escape(r.Id.Length > 8 ? "…" + r.Id[^6..] : r.Id)).ToList() },
            new FitColumn("experiment", "experiment", shown.Select(r => Markup.Escape(r.Experiment)).ToList(), Drop: 6),
            .. shown.Any(r => r.Params.ContainsKey(RunMeta.LabelKey))
                ? new[] { new FitColumn("label", "label", shown.Select(r => Markup.Escape(r.Params.GetValueOrDefault(RunMeta.LabelKey) ?? "")).ToList(), Drop: 3) } : [],
            new FitColumn("status", "status", shown.Select(r => Common.StatusMarkup(r.Status) + (r.Superseded ? " [grey](superseded)[/]" : "")).ToList(), NoWrap: true),
            new FitColumn("started (UTC)", "started", shown.Select(r => r.Started?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Common.Inv) ?? "-").ToList(), Drop: 2, NoWrap: true),
            new FitColumn("epochs", "ep", shown.Select(r => M(r, "epochs_run", "0")).ToList(), Drop: 4, Right: true),
            new FitColumn("test acc", "acc", shown.Select(r => M(r, "test_accuracy")).ToList(), Right: true),
            new FitColumn("test loss", "loss", shown.Select(r => r.Metrics.TryGetValue("test_loss", out var l) ? Markup.Escape(Compare.Render.Number(l, "test_loss")) : "-").ToList(), Drop: 5, Right: true),
            new FitColumn("seconds", "s", shown.Select(r => M(r, "duration", "0.0")).ToList(), Drop: 1, Right: true),
        ], cli.Out.Profile.Width, cli.OutTerminal);
        cli.Out.Write(table);
        if (shown.Count < total) cli.Out.MarkupLine(Markup.Escape($"the newest {shown.Count} of {total} runs (--limit N shows more)"));
        if (dropped.Count > 0) cli.Out.MarkupLine(Markup.Escape($"left out to fit {cli.Out.Profile.Width} columns: {string.Join(", ", dropped)}"));
        return ExitCodes.Ok;
    }
}

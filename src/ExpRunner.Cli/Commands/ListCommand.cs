using System.ComponentModel;
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
        var filter = settings.Filter is null ? null : Compare.Filter.Parse(settings.Filter);
        var runs = new List<(RunFolder Folder, RunRecord Record, RunSummary? Summary, Compare.RunRow Row)>();
        foreach (var f in RunFolder.FindAll(root))
        {
            try
            {
                if (f.ReadRecord() is not { } record || (settings.Experiment is not null && record.Experiment != settings.Experiment)) continue;
                var row = Compare.RunRow.Load(f)!;
                runs.Add((f, record, f.ReadSummary(), row with { Status = RunFolder.EffectiveStatus(record) }));
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { Common.Broken(cli, settings.Strict, e); }
        }
        filter?.CheckKeys(runs.Select(r => r.Row).ToList());
        var rows = runs.Where(r => filter is null || filter.Matches(r.Row)).OrderByDescending(r => r.Record.Started).ToList();
        if (settings.Json)
        {
            cli.Print(IO.Json.Serialize(rows.Select(r => new
            {
                id = r.Folder.Id, experiment = r.Record.Experiment, status = r.Row.Status, started = r.Record.Started, ended = r.Record.Ended,
                epochs = r.Summary?.EpochsRun, final = r.Summary?.Final, reason = r.Record.Reason, folder = r.Folder.Dir,
            })));
            return ExitCodes.Ok;
        }
        if (rows.Count == 0)
        {
            cli.Out.MarkupLine(runs.Count == 0
                ? $"No runs under [bold]{Markup.Escape(root)}[/]{(settings.Experiment is null ? "" : $" of experiment {Markup.Escape(settings.Experiment)}")}. Start one with [bold]exprunner run experiments/xor.yaml[/]."
                : $"None of the {runs.Count} run{(runs.Count == 1 ? "" : "s")} under [bold]{Markup.Escape(root)}[/] match{(runs.Count == 1 ? "es" : "")} the filter.");
            return ExitCodes.Ok;
        }
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in new[] { "run", "experiment", "status", "started (UTC)", "epochs", "test acc", "test loss", "seconds" }) table.AddColumn(c);
        foreach (var (folder, record, summary, row) in rows)
        {
            string status = row.Status;
            string Metric(string k) => summary?.Final.TryGetValue(k, out var v) == true ? Common.F(v) : "-";
            table.AddRow(Markup.Escape(folder.Id), Markup.Escape(record.Experiment), Common.StatusMarkup(status) + (record.SupersededBy is null ? "" : " [grey](superseded)[/]"),
                record.Started.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Common.Inv),
                summary?.EpochsRun.ToString(Common.Inv) ?? "-", Metric("test_accuracy"), Metric("test_loss"),
                summary is null ? "-" : Common.F(summary.DurationSeconds, "0.0"));
        }
        cli.Out.Write(table);
        return ExitCodes.Ok;
    }
}

using System.ComponentModel;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class ListSettings : CommandSettings
{
    [CommandArgument(0, "[experiment]"), Description("Only runs of this experiment.")]
    public string? Experiment { get; init; }

    [CommandOption("--runs <DIR>"), Description("Runs directory (default: runs, or $EXPRUNNER_RUNS).")]
    public string? Runs { get; init; }

    [CommandOption("--filter <EXPR>"), Description("Only runs matching this filter (the syntax of compare --filter).")]
    public string? Filter { get; init; }
}

/// <summary>`exprunner list`: every run, newest first; a RUNNING run whose process died shows as CRASHED.</summary>
public sealed class ListCommand : Command<ListSettings>
{
    public override int Execute(CommandContext context, ListSettings settings, CancellationToken cancellation) => Common.Guard(() =>
    {
        string root = settings.Runs ?? RunLocator.DefaultRoot;
        var filter = settings.Filter is null ? null : Compare.Filter.Parse(settings.Filter);
        var rows = RunFolder.FindAll(root)
            .Select(f => (Folder: f, Record: f.ReadRecord(), Summary: f.ReadSummary()))
            .Where(r => r.Record is not null && (settings.Experiment is null || r.Record.Experiment == settings.Experiment))
            .Where(r => filter is null || (Compare.RunRow.Load(r.Folder) is { } row && filter.Matches(row with { Status = RunFolder.EffectiveStatus(r.Record!) })))
            .OrderByDescending(r => r.Record!.Started)
            .ToList();
        if (rows.Count == 0)
        {
            AnsiConsole.MarkupLine($"No runs under [bold]{Markup.Escape(root)}[/]. Start one with [bold]exprunner run experiments/xor.yaml[/].");
            return ExitCodes.Ok;
        }
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in new[] { "run", "experiment", "status", "started (UTC)", "epochs", "test acc", "test loss", "seconds" }) table.AddColumn(c);
        foreach (var (folder, record, summary) in rows)
        {
            string status = RunFolder.EffectiveStatus(record!);
            string Metric(string k) => summary?.Final.TryGetValue(k, out var v) == true ? Common.F(v) : "-";
            table.AddRow(Markup.Escape(folder.Id), Markup.Escape(record!.Experiment), Common.StatusMarkup(status),
                record.Started.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", Common.Inv),
                summary?.EpochsRun.ToString(Common.Inv) ?? "-", Metric("test_accuracy"), Metric("test_loss"),
                summary is null ? "-" : Common.F(summary.DurationSeconds, "0.0"));
        }
        AnsiConsole.Write(table);
        return ExitCodes.Ok;
    });
}

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
}

/// <summary>`exprunner list`: every run, newest first; a RUNNING run whose process died shows as CRASHED.</summary>
public sealed class ListCommand(CliContext cli) : Command<ListSettings>
{
    public override int Execute(CommandContext context, ListSettings settings, CancellationToken cancellation)
    {
        string root = cli.RunsRoot(settings.Runs);
        var filter = settings.Filter is null ? null : Compare.Filter.Parse(settings.Filter);
        var rows = new List<(RunFolder Folder, RunRecord? Record, RunSummary? Summary)>();
        foreach (var f in RunFolder.FindAll(root))
        {
            try
            {
                var record = f.ReadRecord();
                if (record is null || (settings.Experiment is not null && record.Experiment != settings.Experiment)) continue;
                if (filter is not null && !(Compare.RunRow.Load(f) is { } row && filter.Matches(row with { Status = RunFolder.EffectiveStatus(record) }))) continue;
                rows.Add((f, record, f.ReadSummary()));
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException) { cli.Warn($"skipped a broken run folder: {e.Message}"); }
        }
        rows = rows.OrderByDescending(r => r.Record!.Started).ToList();
        if (rows.Count == 0)
        {
            cli.Out.MarkupLine($"No runs under [bold]{Markup.Escape(root)}[/]. Start one with [bold]exprunner run experiments/xor.yaml[/].");
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
        cli.Out.Write(table);
        return ExitCodes.Ok;
    }
}

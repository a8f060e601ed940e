using System.ComponentModel;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class ShowSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("A run folder, or a run id (or unique prefix) under the runs directory.")]
    public string Run { get; init; } = "";

    [CommandOption("--json"), Description("The run's record, summary and metrics per epoch as one JSON document.")]
    public bool Json { get; init; }

}

/// <summary>`exprunner show`: one run's record, parameters and per-epoch metrics.</summary>
public sealed class ShowCommand(CliContext cli) : Command<ShowSettings>
{
    public override int Execute(CommandContext context, ShowSettings settings, CancellationToken cancellation)
    {
        var folder = RunLocator.Resolve(settings.Run, cli.RunsRoot(settings.Runs));
        var record = folder.ReadRecord() ?? throw new InvalidDataException($"{folder.PathOf(RunFolder.RecordFile)}: unreadable");
        RunSummary? summary = null;
        try { summary = folder.ReadSummary(); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            cli.Warn($"{e.Message}: parameters and final metrics left out; the rest comes from run.json and metrics.csv");
        }
        if (settings.Json)
        {
            cli.Print(IO.Json.SerializeAny(new { record = record with { Status = RunFolder.EffectiveStatus(record) }, summary, metrics = folder.ReadMetrics() }));
            return ExitCodes.Ok;
        }
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("run", Markup.Escape(folder.Dir));
        grid.AddRow("status", Common.StatusMarkup(RunFolder.EffectiveStatus(record)) + (record.Reason is null ? "" : " " + Markup.Escape(record.Reason)));
        grid.AddRow("started", record.Started.ToString("u", Common.Inv));
        grid.AddRow("config", Markup.Escape($"{record.ConfigFile} {string.Join(" ", record.Overrides.Select(o => "--set " + o))}"));
        if (record.Dataset is { } d)
            grid.AddRow("data", Markup.Escape($"{d.Name} ({d.Source}): {d.TrainCount} train, {d.ValidationCount} validation, {d.TestCount} test"));
        grid.AddRow("git", Markup.Escape(record.GitCommit ?? "-"));
        cli.Out.Write(grid);
        if (summary is not null)
        {
            var p = new Table().Border(TableBorder.Simple).AddColumn("parameter").AddColumn("value");
            foreach (var (k, v) in summary.Params) p.AddRow(Markup.Escape(k), Markup.Escape(v));
            cli.Out.Write(p);
        }
        var metrics = folder.ReadMetrics();
        if (metrics.Count == 0)
        {
            cli.Out.MarkupLine("[grey]no epoch finished: no metrics to show[/]");
            return ExitCodes.Ok;
        }
        var splits = metrics.Select(m => m.Split).Distinct().ToList();
        var t = new Table().Border(TableBorder.Rounded).AddColumn("epoch");
        foreach (var s in splits) { t.AddColumn(new TableColumn($"{s} loss").RightAligned()); t.AddColumn(new TableColumn($"{s} acc").RightAligned()); }
        var byEpoch = metrics.GroupBy(m => m.Epoch).ToList();
        // Long runs: show the first and last epochs and every k-th between.
        int stride = Math.Max(1, byEpoch.Count / 40);
        for (int i = 0; i < byEpoch.Count; i++)
        {
            if (i % stride != 0 && i != byEpoch.Count - 1) continue;
            var cells = new List<string> { byEpoch[i].Key.ToString(Common.Inv) };
            foreach (var s in splits)
            {
                var m = byEpoch[i].FirstOrDefault(r => r.Split == s);
                cells.Add(m is null ? "-" : Common.F(m.Loss)); cells.Add(m is null ? "-" : Common.F(m.Accuracy));
            }
            t.AddRow(cells.ToArray());
        }
        cli.Out.Write(t);
        return ExitCodes.Ok;
    }
}

using System.ComponentModel;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class ShowSettings : RunsSettings
{
    [CommandArgument(0, "<run>"), Description("A run folder, or a run id (or unique prefix) under the runs directory.")]
    public string Run { get; init; } = "";

    [CommandOption("--json"), Description("The run's record, summary and metrics per epoch as one JSON document (with --dynamics: its probes at the chosen steps).")]
    public bool Json { get; init; }

    [CommandOption("--dynamics"), Description("Per layer, what its probes measured (gradient, weight and update norms, dead or saturated units, pre-activations) at chosen steps, with a sparkline of every probed step. Needs a run with `probes:`.")]
    public bool Dynamics { get; init; }

    [CommandOption("--at <STEPS>"), Description("With --dynamics: the steps to show, comma-separated; eN is epoch N's last step (default: the first step, some epoch ends, the last step).")]
    public string? At { get; init; }

    public override Spectre.Console.ValidationResult Validate() =>
        At is not null && !Dynamics ? Spectre.Console.ValidationResult.Error("--at goes with --dynamics") : base.Validate();

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
        if (settings.Dynamics) return ShowDynamics(folder, settings);
        if (settings.Json)
        {
            var m = RunMeta.Read(folder);
            cli.Print(IO.Json.SerializeAny(new { record = record with { Status = RunFolder.EffectiveStatus(record) }, summary, metrics = folder.ReadMetrics(), label = m.Label, tags = m.Tags, note = m.Note }));
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
        RunMeta meta;
        try { meta = RunMeta.Read(folder); }
        catch (InvalidDataException e) { cli.Warn(e.Message); meta = RunMeta.Empty; }
        if (meta.Label is { } label) grid.AddRow("label", Markup.Escape(label));
        if (meta.Tags.Count > 0) grid.AddRow("tags", Markup.Escape(string.Join("  ", meta.Tags.Select(kv => $"{kv.Key}={kv.Value}"))));
        if (meta.Note is { } note) grid.AddRow("note", Markup.Escape(note));
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

    private int ShowDynamics(RunFolder folder, ShowSettings settings)
    {
        var d = Dynamics.Read(folder);
        if (d is null || d.Probed.Length == 0)
            throw new InputException($"run {folder.Id} has no probes: its config has no `probes:` block (add `probes: {{}}` and run it again; see README, Probes)");
        var points = Points(d, settings.At, cli.Out.Profile.Width);
        var layers = d.Layers.Select((probes, l) => (l, probes)).ToList();
        if (settings.Json)
        {
            cli.Print(IO.Json.SerializeAny(new
            {
                run = folder.Id,
                steps = points.Select(p => d.Probed[p]),
                epochs = points.Select(p => d.EpochOf(d.Probed[p])),
                layers = layers.Select(x => x.probes.ToDictionary(kv => kv.Key, kv => points.Select(p => kv.Value[p]).Select(v => double.IsFinite(v) ? (double?)v : null))),
            }));
            return ExitCodes.Ok;
        }
        var config = TryConfig(folder);
        int width = cli.Out.Profile.Width;
        // probe names (21) and each step's column (10), two spaces of padding each, the borders: the rest is the trend's.
        int spark = Math.Clamp(width - 6 - 23 - 12 * points.Count - 4, 8, 60);
        cli.Out.MarkupLine(Markup.Escape($"{folder.Id}: {d.Probed.Length:N0} probed steps of {d.Steps.Count:N0} recorded"));
        cli.Out.MarkupLine("[grey]at the steps named; trend: every probed step (log scale when it spans decades)[/]");
        var t = new Table().Border(TableBorder.Simple).AddColumn(new TableColumn("probe").NoWrap());
        foreach (int p in points)
            t.AddColumn(new TableColumn($"step {d.Probed[p]:N0}\n[grey]epoch {d.EpochOf(d.Probed[p])}[/]").RightAligned());
        t.AddColumn(new TableColumn("trend").NoWrap());
        foreach (var (l, probes) in layers)
        {
            string shape = config is { } c && l < c.Model.Layers.Count
                ? $" · {c.Model.Layers[l].Units} {Config.SnakeNames<Config.ActivationKind>.Of(c.Model.Layers[l].Activation)}" : "";
            t.AddRow(new[] { $"[bold]layer {l}{Markup.Escape(shape)}[/]" }.Concat(points.Select(_ => "")).Append("").ToArray());
            foreach (string name in Dynamics.Shown.Where(probes.ContainsKey))
                t.AddRow(new[] { "  " + name }.Concat(points.Select(p => Dynamics.Short(probes[name][p]))).Append(Dynamics.Sparkline(probes[name], spark)).ToArray());
        }
        cli.Out.Write(t);
        return ExitCodes.Ok;
    }

    private static Config.ExperimentConfig? TryConfig(RunFolder folder)
    {
        try { return Config.ConfigLoader.Load(folder.PathOf(RunFolder.ConfigFile)).Config; }
        catch (Exception e) when (e is Config.ConfigException or IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>The probed steps to show (indexes into Probed): --at's, or the first, evenly spaced epoch ends and the last, as many as fit.</summary>
    private static List<int> Points(Dynamics d, string? at, int width)
    {
        var points = new List<int>();
        if (at is not null)
        {
            foreach (string item in at.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                long step;
                if (item.StartsWith('e') && int.TryParse(item.AsSpan(1), System.Globalization.NumberStyles.None, Common.Inv, out int epoch))
                {
                    var last = d.Steps.Where(s => s.Epoch == epoch).Select(s => s.Step).DefaultIfEmpty(-1).Max();
                    if (last < 0) throw new InputException($"--at {item}: the run has no epoch {epoch} (epochs 1–{d.Steps[^1].Epoch})");
                    step = last;
                }
                else if (!long.TryParse(item, System.Globalization.NumberStyles.None, Common.Inv, out step) || step < 1)
                    throw new InputException($"--at '{item}': a step number (from 1) or eN for epoch N's last step");
                int i = d.At(step);
                if (i < 0) throw new InputException($"--at {item}: no step was probed by step {step} (the first probed step is {d.Probed[0]})");
                points.Add(i);
            }
            return [.. points.Distinct().Order()];
        }
        int fit = Math.Clamp((width - 20 - 16) / 12, 2, 8);
        var ends = d.Steps.GroupBy(s => s.Epoch).Select(g => d.At(g.Max(s => s.Step))).Where(i => i >= 0).Distinct().ToList();
        points.Add(0);
        int between = fit - 2;
        for (int k = 1; k <= between && ends.Count > 1; k++) points.Add(ends[(int)Math.Round((double)k * (ends.Count - 1) / (between + 1))]);
        points.Add(d.Probed.Length - 1);
        return [.. points.Distinct().Order()];
    }
}
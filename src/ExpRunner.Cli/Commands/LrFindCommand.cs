using System.ComponentModel;
using System.Globalization;
using ExpRunner.Config;
using ExpRunner.Tracking;
using ExpRunner.Training;
using Serilog;
using Serilog.Events;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class LrFindSettings : RunsSettings
{
    [CommandArgument(0, "<config>"), Description("Experiment YAML file: its network, data, loss, optimizer, batch size and reduction are tested.")]
    public string Config { get; init; } = "";

    [CommandOption("--set <KEY=VALUE>"), Description("Override a config key, e.g. training.gradient_reduction=sum (repeatable).")]
    public string[] Set { get; init; } = [];

    [CommandOption("--start-lr <LR>"), Description("The first learning rate (default 1e-7).")]
    public double StartLr { get; init; } = 1e-7;

    [CommandOption("--end-lr <LR>"), Description("The last learning rate (default 10).")]
    public double EndLr { get; init; } = 10;

    [CommandOption("--steps <N>"), Description("Steps from the first rate to the last, one batch each (default 100).")]
    public int Steps { get; init; } = 100;

    [CommandOption("--stop-factor <X>"), Description("Stop once the smoothed loss passes X times its lowest (default 4; 0: never).")]
    public double StopFactor { get; init; } = 4;

    [CommandOption("--json"), Description("Print the run's summary (with the suggestions) as JSON on stdout, nothing else.")]
    public bool Json { get; init; }

    public override ValidationResult Validate() =>
        !(StartLr > 0 && double.IsFinite(StartLr)) ? ValidationResult.Error($"--start-lr {StartLr.ToString(CultureInfo.InvariantCulture)}: a learning rate above 0")
        : !(EndLr > StartLr && double.IsFinite(EndLr)) ? ValidationResult.Error($"--end-lr {EndLr.ToString(CultureInfo.InvariantCulture)}: above --start-lr ({StartLr.ToString(CultureInfo.InvariantCulture)})")
        : Steps is < 2 or > 1_000_000 ? ValidationResult.Error($"--steps {Steps}: between 2 and 1,000,000")
        : !(StopFactor == 0 || StopFactor > 1) ? ValidationResult.Error($"--stop-factor {StopFactor.ToString(CultureInfo.InvariantCulture)}: above 1 (or 0 to never stop)")
        : base.Validate();
}

/// <summary>`exprunner lr-find`: the learning-rate range test of a config, as a run folder of its own.</summary>
public sealed class LrFindCommand(CliContext cli) : Command<LrFindSettings>
{
    public override int Execute(CommandContext context, LrFindSettings settings, CancellationToken cancellation)
    {
        var loaded = ConfigLoader.Load(settings.Config, settings.Set);
        using var hold = cli.HoldOnInterrupt();
        using var console = new LoggerConfiguration().MinimumLevel.Is(settings.Json ? LogEventLevel.Warning : LogEventLevel.Information)
            .WriteTo.Sink(new TextSink(cli.ErrorText, "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}")).CreateLogger();
        var spec = new RangeTestSpec(settings.StartLr, settings.EndLr, settings.Steps, settings.StopFactor == 0 ? double.PositiveInfinity : settings.StopFactor);
        var result = ExperimentRunner.Run(loaded, new RunOptions
        {
            RunsRoot = cli.RunsRoot(settings.Runs), Console = console, Cancel = cancellation, Clock = cli.Clock, RangeTest = spec,
            MaxThreads = ThreadBudget.Cap(cli.Env(ThreadBudget.Variable)), VectorBits = cli.VectorBits(),
        });
        if (settings.Json) { cli.Print(IO.Json.Serialize(result.Summary)); return result.ExitCode; }
        var f = result.Summary.Final;
        string Lr(string key) => f.TryGetValue(key, out double v) ? v.ToString("G3", CultureInfo.InvariantCulture) : "-";
        var t = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(result.Summary.Experiment)}[/] learning-rate range test {Common.StatusMarkup(result.Status)}");
        t.AddColumn("suggestion"); t.AddColumn(new TableColumn("learning rate").RightAligned()); t.AddColumn("what it is");
        t.AddRow("steepest", Lr("steepest_lr"), "where the smoothed loss fell fastest (per decade of lr)");
        t.AddRow("minimum/10", Lr("minimum_lr"), "a tenth of the rate at the lowest smoothed loss");
        t.AddRow("diverged", Lr("diverged_lr"), "where the loss's runaway began (the step after its lowest batch loss)");
        cli.Out.Write(t);
        if (result.Record.Reason is { } reason) cli.Out.MarkupLine(Markup.Escape(reason));
        cli.Out.MarkupLine(Markup.Escape($"{result.Summary.Steps} steps, lr {SvgLike(settings.StartLr)} → {SvgLike(settings.EndLr)}; "
            + $"plot: {result.Folder.PathOf(RangeTest.PlotFile)}; run folder: {result.Folder.Dir}"));
        return result.ExitCode;
    }

    private static string SvgLike(double v) => v.ToString("G3", CultureInfo.InvariantCulture).Replace("E", "e", StringComparison.Ordinal);
}

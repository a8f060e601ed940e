using System.ComponentModel;
using System.Diagnostics;
using ExpRunner.Config;
using ExpRunner.Tracking;
using ExpRunner.Training;
using Serilog;
using Serilog.Events;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class RunSettings : CommandSettings
{
    [CommandArgument(0, "<config>"), Description("Experiment YAML file.")]
    public string Config { get; init; } = "";

    [CommandOption("--set <KEY=VALUE>"), Description("Override a config key, e.g. training.learning_rate=0.1 (repeatable).")]
    public string[] Set { get; init; } = [];

    [CommandOption("--runs <DIR>"), Description("Runs directory (default: runs, or $EXPRUNNER_RUNS).")]
    public string? Runs { get; init; }

    [CommandOption("-q|--quiet"), Description("No progress; print only the final line.")]
    public bool Quiet { get; init; }

    [CommandOption("--json"), Description("Print the run summary as JSON on stdout, nothing else.")]
    public bool Json { get; init; }

    [CommandOption("--mlflow <URI>"), Description("Mirror the run to this MLflow tracking server (beats tracking.mlflow.uri and $MLFLOW_TRACKING_URI).")]
    public string? Mlflow { get; init; }

    [CommandOption("--mlflow-experiment <NAME>"), Description("MLflow experiment (beats tracking.mlflow.experiment and $MLFLOW_EXPERIMENT_NAME; default: the config's name).")]
    public string? MlflowExperiment { get; init; }

    [CommandOption("--sweep <TRIAL>", IsHidden = true), Description("Record this run as a trial of a sweep (set by `exprunner sweep`).")]
    public string? Sweep { get; init; }
}

/// <summary>`exprunner run`: validate, train with live progress, leave a run folder.</summary>
public sealed class RunCommand : Command<RunSettings>
{
    public override int Execute(CommandContext context, RunSettings settings, CancellationToken cancellation) => Common.Guard(() =>
    {
        var loaded = ConfigLoader.Load(settings.Config, settings.Set);

        bool live = !settings.Quiet && !settings.Json && AnsiConsole.Profile.Capabilities.Interactive;
        bool epochLines = !settings.Quiet && !settings.Json && !live;
        using var console = new LoggerConfiguration()
            .MinimumLevel.Is(live || settings.Quiet || settings.Json ? LogEventLevel.Warning : LogEventLevel.Information)
            .WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: Common.Inv,
                outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}")
            .CreateLogger();

        var trackers = new List<IRunTracker>();
        var mlflow = Tracking.Mlflow.MlflowConnection.Resolve(settings.Mlflow, loaded.Config.Tracking.MlflowUri, Environment.GetEnvironmentVariable);
        if (mlflow is not null)
        {
            string experiment = settings.MlflowExperiment ?? loaded.Config.Tracking.MlflowExperiment
                ?? Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_NAME") ?? loaded.Config.Name;
            trackers.Add(new Tracking.Mlflow.MlflowTracker(new Tracking.Mlflow.MlflowClient(mlflow), experiment, console));
        }
        var options = new RunOptions
        {
            Trackers = trackers,
            RunsRoot = settings.Runs ?? RunLocator.DefaultRoot,
            Console = console,
            Cancel = cancellation,
            OnEpoch = epochLines ? m => Console.Error.WriteLine(EpochLine(m)) : null,
            Sweep = settings.Sweep is { } sw && sw.LastIndexOf(':') is int c and > 0 && int.TryParse(sw[(c + 1)..], out int trial)
                ? new SweepRef(sw[..c], trial) : null,
        };
        RunResult result;
        if (live)
        {
            result = null!;
            AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: 1);
                    var throttle = Stopwatch.StartNew();
                    string last = "";
                    result = ExperimentRunner.Run(loaded, options with
                    {
                        OnBatch = p =>
                        {
                            if (throttle.ElapsedMilliseconds < 100 && p.Batch != p.Batches) return;
                            throttle.Restart();
                            task.MaxValue = (double)p.Epochs * p.Batches;
                            task.Value = (double)(p.Epoch - 1) * p.Batches + p.Batch;
                            task.Description = Markup.Escape(
                                $"epoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.Batches} loss {Common.F(p.Loss)} acc {Common.F(p.Accuracy)}{last}");
                        },
                        OnEpoch = m => last = m["test"] is { } t ? $" | test acc {Common.F(t.Accuracy)}" : "",
                    });
                    task.Value = task.MaxValue;
                });
        }
        else result = ExperimentRunner.Run(loaded, options);

        if (settings.Json)
            Console.Out.Write(Tracking.Json.Serialize(result.Summary));
        else
            Report(result, settings.Quiet);
        return result.ExitCode;
    });

    private static string EpochLine(EpochMetrics m) =>
        $"epoch {m.Epoch}: " + string.Join("  ", m.Splits.Select(s => $"{s.Split} loss {Common.F(s.Loss)} acc {Common.F(s.Accuracy)}")) +
        $"  ({Common.F(m.Seconds, "0.00")} s)";

    private static void Report(RunResult r, bool quiet)
    {
        var s = r.Summary;
        string Metric(string key) => s.Final.TryGetValue(key, out var v) ? Common.F(v) : "-";
        if (quiet)
        {
            Console.WriteLine($"{s.Status} {r.Folder.Dir} test_accuracy={Metric("test_accuracy")} test_loss={Metric("test_loss")}");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(s.Experiment)}[/] {Common.StatusMarkup(s.Status)}");
        table.AddColumn("split"); table.AddColumn(new TableColumn("loss").RightAligned()); table.AddColumn(new TableColumn("accuracy").RightAligned());
        foreach (var split in new[] { "train", "validation", "test" })
            if (s.Final.ContainsKey($"{split}_loss")) table.AddRow(split, Metric($"{split}_loss"), Metric($"{split}_accuracy"));
        AnsiConsole.Write(table);
        var record = r.Folder.ReadRecord();
        if (record?.Reason is { } reason) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(reason)}[/]");
        AnsiConsole.MarkupLine($"{s.EpochsRun} epochs, {s.Steps} steps, {Common.F(s.DurationSeconds, "0.0")} s — run folder: {Markup.Escape(r.Folder.Dir)}");
    }
}

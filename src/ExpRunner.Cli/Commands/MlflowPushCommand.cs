using System.ComponentModel;
using ExpRunner.Tracking;
using ExpRunner.Tracking.Mlflow;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class MlflowPushSettings : RunsSettings
{
    [CommandArgument(0, "<runs>"), Description("Run folders, folders of runs, or run ids.")]
    public string[] Targets { get; init; } = [];

    [CommandOption("--mlflow <URI>"), Description("Tracking server (default: $MLFLOW_TRACKING_URI, then the one the run was mirrored to).")]
    public string? Mlflow { get; init; }

    [CommandOption("--mlflow-experiment <NAME>"), Description("Experiment (default: the one the run was mirrored to, $MLFLOW_EXPERIMENT_NAME, the run's experiment).")]
    public string? MlflowExperiment { get; init; }
}

/// <summary>`exprunner mlflow push`: create or complete the MLflow copy of runs; repeating it changes nothing.</summary>
public sealed class MlflowPushCommand(CliContext cli) : Command<MlflowPushSettings>
{
    public override int Execute(CommandContext context, MlflowPushSettings settings, CancellationToken cancellation)
    {
        string root = cli.RunsRoot(settings.Runs);
        var folders = settings.Targets.SelectMany(r => Directory.Exists(r) ? RunFolder.FindAll(r) : [RunLocator.Resolve(r, root)]).DistinctBy(f => f.Dir).ToList();
        int failed = 0;
        foreach (var folder in folders)
        {
            var state = MlflowState.Read(folder);
            var connection = MlflowConnection.Resolve(settings.Mlflow, null, name =>
                name == "MLFLOW_TRACKING_URI" ? cli.Env(name) ?? state?.TrackingUri : cli.Env(name));
            if (connection is null) throw new InputException("no MLflow server: give --mlflow URI or set MLFLOW_TRACKING_URI");
            var record = folder.ReadRecord();
            string experiment = settings.MlflowExperiment ?? state?.Experiment ?? cli.Env("MLFLOW_EXPERIMENT_NAME")
                ?? record?.Experiment ?? "Default";
            using var client = new MlflowClient(connection);
            try
            {
                var report = new MlflowSync(client, cli.Warn, cli.Clock).PushAsync(folder, experiment, CancellationToken.None).GetAwaiter().GetResult();
                cli.Line($"{folder.Id}: {(report.Created ? "created" : "updated")} MLflow run {report.RunId} in '{experiment}' — " +
                    $"{report.ParamsLogged} params, {report.MetricsLogged} metric values, {report.Artifacts} artifacts, status {report.Status ?? "RUNNING"}");
            }
            catch (Exception e) when (e is MlflowException or MlflowUnavailableException or InvalidDataException)
            {
                failed++;
                cli.Fail($"{folder.Id}: {e.Message}");
            }
        }
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }
}

using System.ComponentModel;
using ExpRunner.Config;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class ValidateSettings : CommandSettings
{
    [CommandArgument(0, "<configs>"), Description("One or more experiment YAML files.")]
    public string[] Configs { get; init; } = [];

    [CommandOption("--set <KEY=VALUE>"), Description("Overrides to check along with the files (repeatable).")]
    public string[] Set { get; init; } = [];
}

/// <summary>`exprunner validate`: the config checks of `run`, nothing else; no data is read.</summary>
public sealed class ValidateCommand(CliContext cli) : Command<ValidateSettings>
{
    public override int Execute(CommandContext context, ValidateSettings settings, CancellationToken cancellation)
    {
        int worst = ExitCodes.Ok;
        foreach (var file in settings.Configs)
        {
            try
            {
                var loaded = ConfigLoader.Load(file, settings.Set);
                var c = loaded.Config;
                cli.Line($"{file}: ok — {c.Name}: {c.Dataset.Name}, " +
                    $"{string.Join("-", c.Model.Layers.Select(l => $"{l.Units}{l.ActivationName[0]}"))}, {SnakeNames<LossKind>.Of(c.Loss)}, " +
                    $"lr {c.Training.LearningRate.ToString(Common.Inv)}, batch {c.Training.BatchSize}, {c.Training.GradientReduction}, {c.Training.Epochs} epochs");
            }
            catch (Exception e) when (e is Config.ConfigException) { worst = Math.Max(worst, App.Report(cli, e, [])); }
        }
        return worst;
    }
}

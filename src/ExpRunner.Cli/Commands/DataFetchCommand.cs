using System.ComponentModel;
using ExpRunner.Data;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class DataFetchSettings : CommandSettings
{
    [CommandArgument(0, "<dataset>"), Description("mnist or fashion-mnist.")]
    public string Dataset { get; init; } = "";

    [CommandOption("--dest <DIR>"), Description("Target folder (default data/DATASET).")]
    public string? Dest { get; init; }

    [CommandOption("--force"), Description("Fetch again even if the files are there.")]
    public bool Force { get; init; }
}

/// <summary>`exprunner data fetch`: the IDX files of mnist / fashion-mnist, from wherever they can be had.</summary>
public sealed class DataFetchCommand(CliContext cli) : Command<DataFetchSettings>
{
    public override int Execute(CommandContext context, DataFetchSettings settings, CancellationToken cancellation)
    {
        new DataFetcher(cli.Note, clock: cli.Clock).Fetch(settings.Dataset, settings.Dest ?? Path.Combine("data", settings.Dataset), settings.Force);
        return ExitCodes.Ok;
    }
}

using System.ComponentModel;
using ExpRunner.Config;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class SchemaSettings : CommandSettings
{
    [CommandOption("-o|--output <FILE>"), Description("Write the schema to this file (default: standard output).")]
    public string? Output { get; init; }
}

/// <summary>`exprunner schema`: the JSON Schema of experiment configs, for editors.</summary>
public sealed class SchemaCommand(CliContext cli) : Command<SchemaSettings>
{
    public override int Execute(CommandContext context, SchemaSettings settings, CancellationToken cancellation)
    {
        string json = ConfigSchema.Json() + "\n";
        if (settings.Output is null)
        {
            cli.Print(json);
            return ExitCodes.Ok;
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(settings.Output))!;
        if (!Directory.Exists(folder)) throw new InputException($"--output {settings.Output}: the folder {folder} does not exist");
        if (Directory.Exists(settings.Output)) throw new InputException($"--output {settings.Output}: is a folder; give a file name");
        IO.Atomic.WriteText(settings.Output, json);
        cli.Note($"wrote {settings.Output}; point a config at it with a first line");
        cli.Note($"  # yaml-language-server: $schema={Path.GetFileName(settings.Output)}");
        return ExitCodes.Ok;
    }
}

using System.ComponentModel;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class DiffSettings : RunsSettings
{
    [CommandArgument(0, "<run-a>"), Description("A run folder, or a run id (or unique prefix).")]
    public string A { get; init; } = "";

    [CommandArgument(1, "<run-b>"), Description("The run to compare it with.")]
    public string B { get; init; } = "";

    [CommandOption("--json"), Description("The differences, the first differing step and epoch as one JSON document.")]
    public bool Json { get; init; }
}

/// <summary>`exprunner diff`: what differs between two runs, and where their training first parts.</summary>
public sealed class DiffCommand(CliContext cli) : Command<DiffSettings>
{
    public override int Execute(CommandContext context, DiffSettings settings, CancellationToken cancellation)
    {
        string root = cli.RunsRoot(settings.Runs);
        var (a, b) = (RunLocator.Resolve(settings.A, root), RunLocator.Resolve(settings.B, root));
        if (a.Dir == b.Dir) throw new InputException($"{settings.A} and {settings.B} are the same run ({a.Id}): give two runs");
        var d = RunDiff.Of(a, b);
        if (settings.Json)
        {
            cli.Print(IO.Json.SerializeAny(new
            {
                a = d.A, b = d.B, identical = d.Identical,
                differences = d.Differences.Select(x => new { kind = x.Kind, key = x.Key, a = x.A, b = x.B }),
                first_step = d.FirstStep, at_first_step = d.AtFirstStep.Select(x => new { key = x.Key, a = x.A, b = x.B }),
                steps_compared = d.StepsCompared, steps_a = d.StepsA, steps_b = d.StepsB,
                first_weights = d.FirstWeights is { } w ? new { epoch = w.Epoch, layer = w.Layer, tensor = w.Tensor } : null,
                epochs_compared = d.EpochsCompared, epochs_a = d.EpochsA, epochs_b = d.EpochsB, missing = d.Missing,
            }));
            return ExitCodes.Ok;
        }
        cli.Out.MarkupLine($"[bold]A[/] {Markup.Escape(a.Dir)}");
        cli.Out.MarkupLine($"[bold]B[/] {Markup.Escape(b.Dir)}");
        if (d.Differences.Count > 0)
        {
            var t = new Table().Border(TableBorder.Simple).AddColumn("what").AddColumn("key").AddColumn("A").AddColumn("B");
            foreach (var x in d.Differences)
                t.AddRow(Markup.Escape(x.Kind), Markup.Escape(x.Key), Markup.Escape(x.A.Length == 0 ? "-" : x.A), Markup.Escape(x.B.Length == 0 ? "-" : x.B));
            cli.Out.Write(t);
        }
        else cli.Out.MarkupLine("config, data and provenance: [green]the same[/]");
        string Count(long n, string what) => $"{n:N0} {what}{(n == 1 ? "" : "s")}";
        if (d.FirstStep is { } step)
            cli.Out.MarkupLine(Markup.Escape($"steps: first differ at step {step:N0} ({Count(d.StepsCompared - 1, "step")} before it agree): ") +
                Markup.Escape(string.Join("; ", d.AtFirstStep.Select(x => $"{x.Key} {x.A} vs {x.B}"))));
        else if (d.StepsCompared > 0)
            cli.Out.MarkupLine(Markup.Escape($"steps: the {Count(d.StepsCompared, "step")} both recorded agree bit for bit" +
                (d.StepsA != d.StepsB ? $" (A recorded {d.StepsA:N0}, B {d.StepsB:N0})" : "")));
        if (d.FirstWeights is { } wt)
            cli.Out.MarkupLine(Markup.Escape($"weights: first differ after epoch {wt.Epoch}, layer {wt.Layer} ({wt.Tensor}s)"));
        else if (d.EpochsCompared > 0)
            cli.Out.MarkupLine(Markup.Escape($"weights: the same after each of the {Count(d.EpochsCompared, "epoch")} both ran" +
                (d.EpochsA != d.EpochsB ? $" (A ran {d.EpochsA}, B {d.EpochsB})" : "")));
        foreach (var m in d.Missing) cli.Out.MarkupLine($"[yellow]not compared:[/] {Markup.Escape(m)}");
        cli.Out.MarkupLine(d.Identical
            ? "[green bold]identical[/]: the same training, step for step and epoch for epoch" + (d.Differences.Count > 0 ? " (what differs above does not change it)" : "")
            : d.FirstStep is not null || d.FirstWeights is not null ? "[yellow bold]different[/]" : "[yellow bold]not shown to be identical[/] (see above)");
        return ExitCodes.Ok;
    }
}

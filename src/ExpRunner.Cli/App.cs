using System.Reflection;
using System.Text.RegularExpressions;
using ExpRunner.Cli.Commands;
using ExpRunner.Compare;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Sweeps;
using ExpRunner.Tracking;
using Spectre.Console.Cli;

namespace ExpRunner.Cli;

/// <summary>Exit codes: 0 finished, 1 failed, 2 bad input, 3 diverged, 130 interrupted. Nothing else.</summary>
public static class ExitCodes
{
    public const int Ok = 0, Failed = 1, BadInput = 2, Diverged = 3, Killed = 130;
}

/// <summary>A command-line input that cannot be used (a run that does not exist, a bad flag value); exit code 2.</summary>
public sealed class InputException(string message) : Exception(message);

/// <summary>
/// `exprunner`: the commands, strict parsing, and the one place where failures become messages
/// and exit codes. Program.cs runs it on the process's context; tests run it on their own.
/// </summary>
public static partial class App
{
    public static void Configure(IConfigurator config)
    {
        config.SetApplicationName("exprunner");
        config.SetApplicationVersion(Tracking.Provenance.Version);
        config.UseStrictParsing();
        config.PropagateExceptions();
        config.AddCommand<RunCommand>("run").WithDescription("Train the experiment a YAML file describes; writes a run folder under runs/.")
            .WithExample("run", "experiments/mnist-sgd.yaml").WithExample("run", "experiments/xor.yaml", "--set", "training.learning_rate=0.1");
        config.AddCommand<SweepCommand>("sweep").WithDescription("Run a sweep of trials (grid, zip, random; repeats), locally or on Slurm.")
            .WithExample("sweep", "experiments/mnist-mean-vs-sum.yaml", "--jobs", "2")
            .WithExample("sweep", "experiments/mnist-sgd.yaml", "--set", "training.learning_rate=0.001,0.01,0.1,1.0")
            .WithExample("sweep", "--resume", "latest");
        config.AddCommand<CompareCommand>("compare").WithDescription("Compare runs or groups of runs side by side.")
            .WithExample("compare", "--sweep", "latest", "--group-by", "training.gradient_reduction,training.learning_rate")
            .WithExample("compare", "runs/mnist-sgd", "--filter", "\"metrics.test_accuracy > 0.8\"", "--sort", "\"metrics.test_accuracy desc\"");
        config.AddCommand<ValidateCommand>("validate").WithDescription("Check configs without loading data: every error at once.")
            .WithExample("validate", "experiments/xor.yaml");
        config.AddCommand<ListCommand>("list").WithDescription("List runs (newest first) with status and final metrics.")
            .WithExample("list", "--filter", "\"attributes.status = 'DIVERGED'\"");
        config.AddCommand<ShowCommand>("show").WithDescription("Show one run: record, parameters, metrics per epoch.")
            .WithExample("show", "20261125-174200-ab12cd");
        config.AddCommand<EvalCommand>("eval").WithDescription("Evaluate a run's saved weights: loss, accuracy, confusion matrix.")
            .WithExample("eval", "runs/mnist-sgd/20261125-174200-ab12cd", "--json");
        config.AddCommand<PredictCommand>("predict").WithDescription("Show one example, its label and the network's prediction.")
            .WithExample("predict", "runs/mnist-sgd/20261125-174200-ab12cd", "--index", "17");
        config.AddCommand<ExportCommand>("export").WithDescription("Write a run's weights as one CSV file per layer and tensor.")
            .WithExample("export", "20261125-174200-ab12cd");
        config.AddCommand<Ui.UiCommand>("ui").WithDescription("Look at every run and sweep in the browser: tables, curves, comparisons (read-only).")
            .WithExample("ui").WithExample("ui", "--runs", "other/runs", "--port", "9000", "--open");
        config.AddCommand<InitCommand>("init").WithDescription("Write a starter experiment (one of those the tool ships) and say what to run next.")
            .WithExample("init").WithExample("init", "study", "--example", "fashion-mnist").WithExample("init", "--list");
        config.AddBranch("mlflow", mlflow =>
        {
            mlflow.SetDescription("MLflow tracking server.");
            mlflow.AddCommand<MlflowPushCommand>("push").WithDescription("Upload runs (or complete their MLflow copy); safe to repeat.")
                .WithExample("mlflow", "push", "runs/xor", "--mlflow", "http://127.0.0.1:5000");
        });
        config.AddBranch("data", data =>
        {
            data.SetDescription("Datasets.");
            data.AddCommand<DataFetchCommand>("fetch").WithDescription("Get mnist or fashion-mnist into data/NAME as IDX files.")
                .WithExample("data", "fetch", "mnist");
        });
    }

    /// <summary>Runs a command line; every failure ends as a message on the error stream and a documented exit code.</summary>
    public static int Run(CliContext cli, IReadOnlyList<string> args, CancellationToken cancel)
    {
        var app = new CommandApp(new Registrar(cli));
        app.Configure(config =>
        {
            Configure(config);
            config.ConfigureConsole(cli.Out);
        });
        // A branch alone (`exprunner mlflow`) is a usage error, not help with exit code 1.
        if (args.Count == 1 && Commands.Keys.Any(k => k.StartsWith(args[0] + " ", StringComparison.Ordinal)))
        {
            cli.Fail($"'{args[0]}' needs a command: {string.Join(", ", Commands.Keys.Where(k => k.StartsWith(args[0] + " ", StringComparison.Ordinal)).Select(k => k.Split(' ')[1]))}");
            cli.Note($"see: exprunner {args[0]} --help");
            return ExitCodes.BadInput;
        }
        try { return app.Run(args, cancel); }
        catch (Exception e) { return Report(cli, e, args); }
    }

    /// <summary>What a failure tells the user, and the exit code it ends with.</summary>
    public static int Report(CliContext cli, Exception e, IReadOnlyList<string> args)
    {
        switch (e)
        {
            case ConfigException c:
                foreach (var error in c.Errors) cli.Fail(error.ToString());
                cli.Fail($"{c.Errors.Count} error{(c.Errors.Count == 1 ? "" : "s")} in the config; nothing was run.");
                return ExitCodes.BadInput;
            case FilterException f:
                cli.Fail($"--filter: {f.Message}");
                cli.Note(f.Pointer);
                return ExitCodes.BadInput;
            case CommandAppException s:
                cli.Fail(Usage(s, args));
                cli.Note($"see: exprunner {string.Join(' ', CommandPath(args))} --help".Replace("  ", " "));
                return ExitCodes.BadInput;
            case InputException or CompareException or RunStartException or RunBusyException or DataException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                or SweepBusyException or SlurmException:
                cli.Fail(e.Message);
                return ExitCodes.BadInput;
            case OperationCanceledException:
                cli.Fail("interrupted");
                return ExitCodes.Killed;
            case IOException or UnauthorizedAccessException:
                cli.Fail(e is UnauthorizedAccessException ? $"{e.Message} (permission denied)" : e.Message);
                return ExitCodes.Failed;
            case OutOfMemoryException:
                cli.Fail($"out of memory{Details(cli, e)}");
                return ExitCodes.Failed;
            default:
                cli.Fail($"unexpected {e.GetType().Name}: {e.Message}{Details(cli, e)}");
                return ExitCodes.Failed;
        }
    }

    /// <summary>
    /// The whole story of an unexpected failure (stack trace included) goes to a log, never to the
    /// terminal: $XDG_STATE_HOME/exprunner/errors.log (~/.local/state/...). Returns where, for the one-line message.
    /// </summary>
    private static string Details(CliContext cli, Exception e)
    {
        try
        {
            string dir = Path.Combine(cli.Env("XDG_STATE_HOME") ?? Path.Combine(cli.Env("HOME") ?? Path.GetTempPath(), ".local", "state"), "exprunner");
            Directory.CreateDirectory(dir);
            string log = Path.Combine(dir, "errors.log");
            File.AppendAllText(log, $"{cli.Clock.GetUtcNow():O} exprunner {Tracking.Provenance.Version}\n{e}\n\n");
            return $" (details in {log})";
        }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException) { return ""; }
    }

    /// <summary>Spectre's parse errors in the user's terms, with a did-you-mean for unknown options and commands.</summary>
    private static string Usage(CommandAppException e, IReadOnlyList<string> args)
    {
        string message = e.Message.TrimEnd('.');
        var path = CommandPath(args);
        if (UnknownOption().Match(message) is { Success: true } o)
        {
            string name = o.Groups[1].Value;
            var options = OptionsOf(path).ToList();
            string dash = name.Length == 1 ? "-" : "--";
            return $"unknown option '{dash}{name}' for '{string.Join(' ', path)}'" +
                DidYouMean.Suggest("--" + name, options).Replace(" (did you mean", "; did you mean").TrimEnd(')');
        }
        if (UnknownCommand().Match(message) is { Success: true } c)
            return $"unknown command '{c.Groups[1].Value}'" + DidYouMean.Suggest(c.Groups[1].Value, Commands.Keys.Select(k => k.Split(' ')[0]).Distinct())
                .Replace(" (did you mean", "; did you mean").TrimEnd(')');
        if (ExtraArgument().Match(message) is { Success: true } x)
            return $"unexpected argument '{x.Groups[1].Value}' for '{string.Join(' ', path)}'";
        if (Conversion().Match(message) is { Success: true } v)
            return $"'{v.Groups[1].Value}' is not a valid {Friendly(v.Groups[2].Value)}" + (ValueOf(args, v.Groups[1].Value) is { } flag ? $" for {flag}" : "");
        return char.ToLowerInvariant(message[0]) + message[1..];
    }

    private static string Friendly(string type) => type switch
    {
        var t when t.Contains("Int", StringComparison.Ordinal) || t.StartsWith("Nullable", StringComparison.Ordinal) => "whole number",
        var t when t.Contains("Double", StringComparison.Ordinal) => "number",
        _ => type,
    };

    /// <summary>The option whose value <paramref name="value"/> was on the command line.</summary>
    private static string? ValueOf(IReadOnlyList<string> args, string value)
    {
        for (int i = 1; i < args.Count; i++)
            if (args[i] == value && args[i - 1].StartsWith('-')) return args[i - 1];
        return args.FirstOrDefault(a => a.EndsWith("=" + value, StringComparison.Ordinal))?.Split('=')[0];
    }

    /// <summary>The command words at the start of the command line ("run", "mlflow push").</summary>
    private static List<string> CommandPath(IReadOnlyList<string> args)
    {
        if (args.Count >= 2 && Commands.ContainsKey($"{args[0]} {args[1]}")) return [args[0], args[1]];
        return args.Count >= 1 && Commands.ContainsKey(args[0]) ? [args[0]] : [];
    }

    private static IEnumerable<string> OptionsOf(List<string> path) =>
        Commands.TryGetValue(string.Join(' ', path), out var settings)
            ? settings.GetProperties().Select(p => p.GetCustomAttribute<CommandOptionAttribute>()).OfType<CommandOptionAttribute>()
                .Where(a => !a.IsHidden).SelectMany(a => a.LongNames.Select(n => "--" + n))
            : [];

    /// <summary>Every command and its settings (for did-you-mean on options).</summary>
    private static readonly Dictionary<string, Type> Commands = new()
    {
        ["run"] = typeof(RunSettings), ["sweep"] = typeof(SweepSettings), ["compare"] = typeof(CompareSettings), ["validate"] = typeof(ValidateSettings),
        ["list"] = typeof(ListSettings), ["show"] = typeof(ShowSettings), ["eval"] = typeof(EvalSettings), ["predict"] = typeof(PredictSettings),
        ["export"] = typeof(ExportSettings), ["init"] = typeof(InitSettings), ["mlflow push"] = typeof(MlflowPushSettings), ["data fetch"] = typeof(DataFetchSettings),
        ["mlflow"] = typeof(CommandSettings), ["data"] = typeof(CommandSettings),
    };

    [GeneratedRegex(@"^Unknown option '([^']+)'")]
    private static partial Regex UnknownOption();
    [GeneratedRegex(@"^Unknown command '([^']+)'")]
    private static partial Regex UnknownCommand();
    [GeneratedRegex(@"^Could not match '([^']*)' with an argument")]
    private static partial Regex ExtraArgument();
    [GeneratedRegex(@"^Failed to convert '([^']*)' to ([\w`]+)")]
    private static partial Regex Conversion();
}

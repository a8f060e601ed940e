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
    /// <summary>A command as registered: its words, its command class, what it does and examples of it.</summary>
    private sealed record CommandInfo(string Name, Type Command, string Description, params string[][] Examples)
    {
        /// <summary>The settings class the command reads its options into (its base Command&lt;TSettings&gt;).</summary>
        public Type Settings
        {
            get
            {
                for (var t = Command; t is not null; t = t.BaseType)
                    if (t.IsGenericType && t.GetGenericArguments() is [var settings] && typeof(CommandSettings).IsAssignableFrom(settings)) return settings;
                throw new InvalidOperationException($"{Command.Name} has no settings");
            }
        }
    }

    /// <summary>Every command, registered from here — and so the commands and options a did-you-mean knows.</summary>
    private static readonly CommandInfo[] Table =
    [
        new("run", typeof(RunCommand), "Train the experiment a YAML file describes; writes a run folder under runs/.",
            ["run", "experiments/mnist-sgd.yaml"], ["run", "experiments/xor.yaml", "--set", "training.learning_rate=0.1"]),
        new("sweep", typeof(SweepCommand), "Run a sweep of trials (grid, zip, random; repeats), locally or on Slurm.",
            ["sweep", "experiments/mnist-mean-vs-sum.yaml", "--jobs", "2"],
            ["sweep", "experiments/mnist-sgd.yaml", "--set", "training.learning_rate=0.001,0.01,0.1,1.0"],
            ["sweep", "experiments/fashion-mnist.yaml", "--set", "training.optimizer=sgd,adam"], ["sweep", "--resume", "latest"]),
        new("compare", typeof(CompareCommand), "Compare runs or groups of runs side by side.",
            ["compare", "--sweep", "latest", "--group-by", "training.gradient_reduction,training.learning_rate"],
            ["compare", "runs/mnist-sgd", "--filter", "\"metrics.test_accuracy > 0.8\"", "--sort", "\"metrics.test_accuracy desc\""]),
        new("validate", typeof(ValidateCommand), "Check configs without loading data: every error at once.", ["validate", "experiments/xor.yaml"]),
        new("list", typeof(ListCommand), "List runs (newest first) with status and final metrics.", ["list", "--filter", "\"attributes.status = 'DIVERGED'\""]),
        new("show", typeof(ShowCommand), "Show one run: record, parameters, metrics per epoch.", ["show", "20261125-174200-ab12cd"]),
        new("lr-find", typeof(LrFindCommand), "The learning-rate range test: loss against an exponentially growing rate, with suggestions.",
            ["lr-find", "experiments/mnist-sgd.yaml"], ["lr-find", "experiments/mnist-sgd.yaml", "--set", "training.gradient_reduction=mean", "--end-lr", "100"]),
        new("diff", typeof(DiffCommand), "What differs between two runs, and the first step and epoch where their training parts.",
            ["diff", "20261125-174200-ab12cd", "20261125-180311-9f00e1"]),
        new("tag", typeof(TagCommand), "Set or remove a run's tags (key=value), kept in its folder.", ["tag", "20261125-174200-ab12cd", "stage=baseline", "owner=ana"], ["tag", "20261125-174200-ab12cd", "--remove", "stage"]),
        new("label", typeof(LabelCommand), "Give a run a label (distinct from its experiment's name).", ["label", "20261125-174200-ab12cd", "\"first try with adam\""]),
        new("note", typeof(NoteCommand), "Write a run's note (Markdown), edit it in $EDITOR, or show it.", ["note", "20261125-174200-ab12cd", "\"lr too high: diverged at epoch 3\""], ["note", "20261125-174200-ab12cd", "--edit"]),
        new("rm", typeof(RmCommand), "Move runs to the trash inside the runs directory (restore brings them back).", ["rm", "20261125-174200-ab12cd"], ["rm", "--filter", "\"attributes.status = 'DIVERGED'\"", "--yes"]),
        new("trash", typeof(TrashCommand), "List the runs in the trash, or empty it (empty [--older-than 30d]).", ["trash"], ["trash", "empty", "--older-than", "30d"]),
        new("restore", typeof(RestoreCommand), "Bring runs back from the trash where they were.", ["restore", "20261125-174200-ab12cd"]),
        new("eval", typeof(EvalCommand), "Evaluate a run's saved weights: loss, accuracy, confusion matrix.", ["eval", "runs/mnist-sgd/20261125-174200-ab12cd", "--json"]),
        new("predict", typeof(PredictCommand), "Show one example, its label and the network's prediction.", ["predict", "runs/mnist-sgd/20261125-174200-ab12cd", "--index", "17"]),
        new("export", typeof(ExportCommand), "Write a run's weights as one CSV file per layer and tensor.", ["export", "20261125-174200-ab12cd"]),
        new("ui", typeof(Ui.UiCommand), "Look at every run and sweep in the browser: tables, curves, comparisons (read-only).",
            ["ui"], ["ui", "--runs", "other/runs", "--port", "9000", "--open"]),
        new("init", typeof(InitCommand), "Write a starter experiment (one of those the tool ships) and say what to run next.",
            ["init"], ["init", "study", "--example", "fashion-mnist"], ["init", "--list"]),
        new("schema", typeof(SchemaCommand), "Write the JSON Schema of experiment configs (editors complete keys and flag errors with it).",
            ["schema"], ["schema", "--output", "exprunner.schema.json"]),
        new("mlflow push", typeof(MlflowPushCommand), "Upload runs (or complete their MLflow copy); safe to repeat.",
            ["mlflow", "push", "runs/xor", "--mlflow", "http://127.0.0.1:5000"]),
        new("data fetch", typeof(DataFetchCommand), "Get mnist or fashion-mnist into data/NAME as IDX files.", ["data", "fetch", "mnist"]),
    ];

    /// <summary>Every command's words, as registered ("run", "mlflow push").</summary>
    public static IEnumerable<string> CommandNames => Table.Select(c => c.Name);

    private static readonly Dictionary<string, string> Branches = new() { ["mlflow"] = "MLflow tracking server.", ["data"] = "Datasets." };

    /// <summary>
    /// Registers the commands. A command line that names a command (`run …`, `mlflow push …`) gets that
    /// command alone: Spectre builds the model of every command it is given, by reflection, before it
    /// parses, and one command's is all this line needs (measured: 4 ms of the 119 ms a small run spends
    /// outside its training).
    /// Anything else (help, --version, a misspelt command) gets them all.
    /// </summary>
    private static void Configure(IConfigurator config, IReadOnlyList<string> args)
    {
        config.SetApplicationName("exprunner");
        config.SetApplicationVersion(Tracking.Provenance.Version);
        config.UseStrictParsing();
        config.PropagateExceptions();
        string named = string.Join(' ', CommandPath(args));
        string? only = Table.Any(c => c.Name == named) ? named : null; // a branch alone (`mlflow --help`) is not a command
        bool Wanted(CommandInfo c) => only is null || c.Name == only;
        foreach (var c in Table.Where(c => !c.Name.Contains(' ') && Wanted(c))) Register(config, c, c.Name);
        foreach (var (branch, description) in Branches)
        {
            var commands = Table.Where(c => c.Name.StartsWith(branch + " ", StringComparison.Ordinal) && Wanted(c)).ToList();
            if (commands.Count == 0) continue;
            config.AddBranch(branch, b =>
            {
                b.SetDescription(Spectre.Console.Markup.Escape(description));
                foreach (var c in commands) Register(b, c, c.Name[(branch.Length + 1)..]);
            });
        }
    }

    /// <summary>AddCommand&lt;TCommand&gt;(name) for a command known by its type, with its description and examples.</summary>
    private static void Register(object configurator, CommandInfo c, string name)
    {
        var add = configurator.GetType().GetInterfaces().Append(configurator.GetType())
            .SelectMany(i => i.GetMethods()).First(m => m.Name == "AddCommand" && m.IsGenericMethodDefinition && m.GetParameters().Length == 1);
        var command = (ICommandConfigurator)add.MakeGenericMethod(c.Command).Invoke(configurator, [name])!;
        command.WithDescription(Spectre.Console.Markup.Escape(c.Description)); // plain text: "[--older-than 30d]" is not a style
        foreach (var example in c.Examples) command.WithExample(example);
    }

    /// <summary>The command-line application, with the commands <paramref name="args"/> needs (<see cref="Configure"/>).</summary>
    public static CommandApp Build(CliContext cli, IReadOnlyList<string> args)
    {
        var app = new CommandApp(new Registrar(cli));
        app.Configure(config =>
        {
            Configure(config, args);
            config.ConfigureConsole(cli.Out);
        });
        return app;
    }

    /// <summary>Runs a command line; every failure ends as a message on the error stream and a documented exit code.</summary>
    public static int Run(CliContext cli, IReadOnlyList<string> args, CancellationToken cancel)
    {
        var app = Build(cli, args);
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

    /// <summary>Every command and branch with its settings (for did-you-mean on commands and options), as registered.</summary>
    private static readonly Dictionary<string, Type> Commands = Table.ToDictionary(c => c.Name, c => c.Settings)
        .Concat(Branches.Keys.Select(b => KeyValuePair.Create(b, typeof(CommandSettings)))).ToDictionary();

    [GeneratedRegex(@"^Unknown option '([^']+)'")]
    private static partial Regex UnknownOption();
    [GeneratedRegex(@"^Unknown command '([^']+)'")]
    private static partial Regex UnknownCommand();
    [GeneratedRegex(@"^Could not match '([^']*)' with an argument")]
    private static partial Regex ExtraArgument();
    [GeneratedRegex(@"^Failed to convert '([^']*)' to ([\w`]+)")]
    private static partial Regex Conversion();
}

using System.ComponentModel;
using System.Reflection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

public sealed class InitSettings : CommandSettings
{
    [CommandArgument(0, "[dir]"), Description("Folder to write the experiment into (default: the current folder).")]
    public string Dir { get; init; } = ".";

    [CommandOption("--example <NAME>"), Description("Which shipped experiment to start from (default mnist-sgd; --list shows them).")]
    public string Example { get; init; } = "mnist-sgd";

    [CommandOption("--list"), Description("List the shipped experiments and what each shows.")]
    public bool List { get; init; }

    [CommandOption("--force"), Description("Overwrite an experiment file of the same name.")]
    public bool Force { get; init; }
}

/// <summary>`exprunner init`: a starter experiment from the ones the tool ships, and what to run next.</summary>
public sealed class InitCommand(CliContext cli) : Command<InitSettings>
{
    private static readonly Assembly Self = typeof(InitCommand).Assembly;

    /// <summary>The shipped experiments by name, with the first sentence of their header comment (whole, over as many lines as it takes).</summary>
    public static IReadOnlyDictionary<string, string> Examples() => Self.GetManifestResourceNames()
        .Where(n => n.StartsWith("experiments/", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
        .ToDictionary(n => Path.GetFileNameWithoutExtension(n), n => FirstSentence(Text(n)));

    /// <summary>The header comment's first sentence: its lines joined up to the first full stop or question mark that ends a sentence.</summary>
    private static string FirstSentence(string text)
    {
        var words = string.Join(" ", text.Split('\n').SkipWhile(l => l.StartsWith(SchemaLine, StringComparison.Ordinal) || l.Trim().Length == 0)
            .TakeWhile(l => l.StartsWith('#')).Select(l => l.TrimStart('#', ' ').Trim()).TakeWhile(l => !l.StartsWith("exprunner ", StringComparison.Ordinal)));
        var end = System.Text.RegularExpressions.Regex.Match(words, @"[.?!](?=\s|$)");
        string sentence = end.Success ? words[..(end.Index + 1)] : words.TrimEnd();
        return sentence.EndsWith(':') ? sentence[..^1] + "." : sentence; // a sentence that introduces the commands below it
    }

    /// <summary>The first line of every shipped experiment: editors find the schema beside it.</summary>
    private const string SchemaLine = "# yaml-language-server: $schema=";

    /// <summary>The shipped experiments a shipped experiment's extends: names (without .yaml).</summary>
    private static IEnumerable<string> Bases(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text, @"^extends:\s*(\[[^\]]*\]|\S+)", System.Text.RegularExpressions.RegexOptions.Multiline);
        if (!m.Success) return [];
        return m.Groups[1].Value.Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(f => Path.GetFileNameWithoutExtension(f.Trim('"', '\'')));
    }

    private static string Text(string resource)
    {
        using var stream = Self.GetManifestResourceStream(resource)!;
        return new StreamReader(stream).ReadToEnd();
    }

    public override int Execute(CommandContext context, InitSettings settings, CancellationToken cancellation)
    {
        var examples = Examples();
        if (settings.List)
        {
            foreach (var (name, what) in examples) cli.Out.MarkupLine($"[bold]{Markup.Escape(name)}[/]  {Markup.Escape(what)}");
            return ExitCodes.Ok;
        }
        if (!examples.ContainsKey(settings.Example))
            throw new InputException($"--example {settings.Example}: no such experiment; one of {string.Join(", ", examples.Keys)}{Config.DidYouMean.Suggest(settings.Example, examples.Keys)}");
        if (IO.BoundedFile.KindOf(settings.Dir) is IO.BoundedFile.Kind.Regular or IO.BoundedFile.Kind.Other)
            throw new InputException($"{settings.Dir} is a file, not a folder: give a folder to write the experiment into");
        Directory.CreateDirectory(settings.Dir);
        string file = Path.Combine(settings.Dir, settings.Example + ".yaml");
        if (File.Exists(file) && !settings.Force) throw new InputException($"{file} exists; --force overwrites it");
        string text = Text($"experiments/{settings.Example}.yaml");
        IO.Atomic.WriteText(file, text);
        cli.Line(file);
        // The shipped experiments it extends go beside it (an existing one is kept unless --force).
        string all = text;
        var pending = new Queue<string>(Bases(text));
        var written = new HashSet<string> { settings.Example };
        while (pending.TryDequeue(out var name))
        {
            if (!written.Add(name) || !examples.ContainsKey(name)) continue;
            string baseText = Text($"experiments/{name}.yaml");
            all += "\n" + baseText;
            foreach (var b in Bases(baseText)) pending.Enqueue(b);
            string baseFile = Path.Combine(settings.Dir, name + ".yaml");
            if (File.Exists(baseFile) && !settings.Force) { cli.Note($"kept {baseFile} (it extends it; --force overwrites)"); continue; }
            IO.Atomic.WriteText(baseFile, baseText);
            cli.Line(baseFile);
        }
        // The schema the experiment's first line points at, so an editor completes and checks it.
        string schema = Path.Combine(settings.Dir, "exprunner.schema.json");
        if (!File.Exists(schema) || settings.Force)
        {
            IO.Atomic.WriteText(schema, Config.ConfigSchema.Json() + "\n");
            cli.Line(schema);
        }
        string dataset = System.Text.RegularExpressions.Regex.Match(all, @"name:\s*(mnist|fashion-mnist)\b") is { Success: true } m ? m.Groups[1].Value : "";
        cli.Note("next:");
        if (dataset.Length > 0) cli.Note($"  exprunner data fetch {dataset}          # the {dataset} IDX files into data/{dataset} (relative to where you run)");
        cli.Note($"  exprunner validate {file}");
        cli.Note($"  exprunner run {file}");
        return ExitCodes.Ok;
    }
}

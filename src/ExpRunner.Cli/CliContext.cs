using Spectre.Console;

namespace ExpRunner.Cli;

/// <summary>
/// Everything a command may touch of the world outside it, made once at the edge (Program.cs) or by
/// a test: the two output streams, the environment variables (read once), the clock, and how to
/// start this same program again (sweep trials are `exprunner run` processes).
/// </summary>
public sealed record CliContext
{
    /// <summary>Results: tables, JSON, the lines scripts read.</summary>
    public required IAnsiConsole Out { get; init; }
    /// <summary>Everything else: progress, notes, warnings, errors.</summary>
    public required IAnsiConsole Error { get; init; }
    /// <summary>Standard output as plain text (what <see cref="Print"/> writes to); the console's own writer unless set.</summary>
    public TextWriter OutText { get => _outText ?? Out.Profile.Out.Writer; init => _outText = value; }
    /// <summary>The error stream as plain text (notes, warnings, errors, log lines); the console's own writer unless set.</summary>
    public TextWriter ErrorText { get => _errorText ?? Error.Profile.Out.Writer; init => _errorText = value; }
    private readonly TextWriter? _outText, _errorText;
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public required IReadOnlyList<string> Self { get; init; }
    /// <summary>Standard output is a terminal (tables fit its width), not a pipe or a file (tables keep every column and full names).</summary>
    public bool OutTerminal { get; init; }
    /// <summary>A person watches the error stream in a terminal: live displays instead of lines.</summary>
    public bool Interactive { get; init; }
    /// <summary>Someone can answer a question on the terminal (stdin is a terminal too).</summary>
    public bool CanAsk { get; init; }
    /// <summary>
    /// The width notes, warnings and errors wrap at, between words, when the error stream is a terminal
    /// (asked when first needed); null: they are written as they are (pipes, files, logs).
    /// </summary>
    public Func<int?> ErrorWidth { get; init; } = () => null;
    /// <summary>The process's Ctrl-C / SIGTERM handling (none in tests, which cancel the token themselves).</summary>
    public Interruption? Interruption { get; init; }

    /// <summary>Work that ends cleanly when interrupted keeps the process alive while it does (see <see cref="Cli.Interruption"/>).</summary>
    public IDisposable? HoldOnInterrupt() => Interruption?.Hold();

    /// <summary>An environment variable; null when unset or empty.</summary>
    public string? Env(string name) => Environment.TryGetValue(name, out var v) && v.Length > 0 ? v : null;

    /// <summary>The runs directory: --runs, else $EXPRUNNER_RUNS, else ./runs; one that exists as something else than a folder is bad input.</summary>
    public string RunsRoot(string? flag)
    {
        string root = flag ?? Env("EXPRUNNER_RUNS") ?? "runs";
        if (IO.BoundedFile.KindOf(root) is IO.BoundedFile.Kind.Regular or IO.BoundedFile.Kind.Other)
            throw new InputException($"{(flag is not null ? "--runs" : Env("EXPRUNNER_RUNS") is not null ? "$EXPRUNNER_RUNS" : "the runs directory")} {root}: is a file, not a folder of runs");
        return root;
    }

    /// <summary>Text for scripts, as it is (JSON, CSV, markdown): no markup, no wrapping.</summary>
    public void Print(string text) => OutText.Write(text);

    /// <summary>The widest vectors the products may use: $EXPRUNNER_VECTOR_BITS (256 or 128 force the narrower kernels, to compare them), else 0: the widest the CPU has.</summary>
    public int VectorBits() => int.TryParse(Env("EXPRUNNER_VECTOR_BITS"), System.Globalization.CultureInfo.InvariantCulture, out int bits) && bits > 0 ? bits : 0;

    /// <summary>A line for scripts (stdout), as it is.</summary>
    public void Line(string text) => Print(text + "\n");

    public void Note(string text) => ErrorText.WriteLine(Wrap(text, ErrorWidth()));

    public void Warn(string text) => ErrorText.WriteLine(Wrap($"warning: {text}", ErrorWidth()));

    public void Fail(string text) => ErrorText.WriteLine(Wrap($"error: {text}", ErrorWidth()));

    /// <summary>
    /// Each line of <paramref name="text"/> longer than <paramref name="width"/> broken between words, its
    /// continuations indented two more than the line (a word longer than a line is cut); null: as it is.
    /// </summary>
    public static string Wrap(string text, int? width)
    {
        if (width is not int w || w < 20 || text.Split('\n').All(l => l.Length <= w)) return text;
        var sb = new System.Text.StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            if (sb.Length > 0) sb.Append('\n');
            string indent = new(' ', line.Length - line.TrimStart(' ').Length + 2);
            string rest = line;
            while (rest.Length > w)
            {
                int cut = rest.LastIndexOf(' ', w);
                if (cut <= indent.Length) cut = w; // no space to break at: cut the word
                sb.Append(rest.AsSpan(0, cut).TrimEnd()).Append('\n');
                rest = indent + rest[cut..].TrimStart(' ');
            }
            sb.Append(rest);
        }
        return sb.ToString();
    }

    /// <summary>The width of output for pipes and files: wide enough that no table wraps.</summary>
    public const int PipeWidth = 4000;

    /// <summary>The context of this process: its environment, its console streams, its own command line.</summary>
    public static CliContext ForProcess()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            env[(string)e.Key] = (string?)e.Value ?? "";
        bool noColor = env.ContainsKey("NO_COLOR");
        bool errTerminal = !Console.IsErrorRedirected, outTerminal = !System.Console.IsOutputRedirected;
        var outText = new GuardedWriter(System.Console.Out, "standard output");
        var errorText = new GuardedWriter(System.Console.Error, "standard error");
        // The consoles (markup, tables, live displays) are made when first used; plain lines go straight to the streams.
        return new CliContext
        {
            Out = new LazyConsole(() => MakeConsole(outText, outTerminal, noColor)),
            Error = new LazyConsole(() => MakeConsole(errorText, errTerminal, noColor)),
            OutText = outText, ErrorText = errorText,
            Environment = env,
            Self = SelfCommand(),
            OutTerminal = outTerminal,
            Interactive = errTerminal && !env.ContainsKey("CI"),
            CanAsk = errTerminal && !System.Console.IsInputRedirected,
            ErrorWidth = errTerminal ? TerminalWidth : () => null,
        };
    }

    /// <summary>The terminal's width (asked once, when first needed: it reads the terminal's description); null if it cannot tell.</summary>
    private static int? TerminalWidth() => _terminalWidth.Value;

    private static readonly Lazy<int?> _terminalWidth = new(() =>
    {
        try { return System.Console.WindowWidth is > 0 and var w ? w : null; }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException) { return null; }
    });

    private static IAnsiConsole MakeConsole(TextWriter writer, bool terminal, bool noColor)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal && !noColor ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal && !noColor ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        // Piped or redirected output is read by scripts and files, not a terminal: nothing wraps.
        if (!terminal) console.Profile.Width = PipeWidth;
        return console;
    }

    /// <summary>How to start this same exprunner again: the apphost, or `dotnet exprunner.dll`.</summary>
    private static List<string> SelfCommand()
    {
        string host = System.Environment.ProcessPath ?? "exprunner";
        return Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? [host, System.Reflection.Assembly.GetEntryAssembly()!.Location]
            : [host];
    }
}

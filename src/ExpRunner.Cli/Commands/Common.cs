using System.ComponentModel;
using System.Globalization;
using ExpRunner.Tracking;
using Spectre.Console;
using Spectre.Console.Cli;

namespace ExpRunner.Cli.Commands;

/// <summary>Settings of every command that reads or writes a runs directory.</summary>
public class RunsSettings : CommandSettings
{
    [CommandOption("--runs <DIR>"), Description("Runs directory (default: runs, or $EXPRUNNER_RUNS).")]
    public string? Runs { get; init; }
}

internal static class Common
{
    public static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string F(double v, string format = "0.0000") =>
        double.IsNaN(v) ? "NaN" : v.ToString(format, Inv);

    public static string StatusMarkup(string status) => status switch
    {
        RunStatus.Finished => "[green]FINISHED[/]",
        RunStatus.Running => "[blue]RUNNING[/]",
        RunStatus.Diverged => "[yellow]DIVERGED[/]",
        RunStatus.Pruned => "[cyan]PRUNED[/]",
        RunStatus.Killed => "[yellow]KILLED[/]",
        RunStatus.Crashed => "[red]CRASHED[/]",
        Sweeps.TrialStatus.Pending => "[grey]PENDING[/]",
        _ => $"[red]{Markup.Escape(status)}[/]",
    };

    /// <summary>A run folder that cannot be read: skipped with one warning naming it, or (--strict) the end of the command.</summary>
    public static void Broken(CliContext cli, bool strict, Exception e)
    {
        if (strict) throw new InputException($"{e.Message} (--strict)");
        cli.Warn($"skipped a broken run folder: {e.Message}");
    }

    /// <summary>
    /// Every run under a runs directory, through its index (brought up to date first); broken run
    /// folders are warned about (or, with --strict, the end of the command).
    /// </summary>
    public static List<Compare.RunRow> IndexedRuns(CliContext cli, string root, bool strict, string? experiment = null)
    {
        if (!Directory.Exists(root)) return [];
        var (rows, refresh) = Compare.RunIndex.Use(root, Compare.RunIndex.CacheDir(cli.Env), index => index.Load(), cli.Warn);
        foreach (var problem in refresh.Broken) Broken(cli, strict, new InvalidDataException(problem));
        return experiment is null ? rows : rows.Where(r => r.Experiment == experiment).ToList();
    }

    /// <summary>The newest runs under a runs directory and how many there are, the index brought up to date first.</summary>
    public static (List<Compare.RunRow> Rows, int Total) NewestRuns(CliContext cli, string root, bool strict, int limit, string? experiment)
    {
        if (!Directory.Exists(root)) return ([], 0);
        var (refresh, newest) = Compare.RunIndex.Use(root, Compare.RunIndex.CacheDir(cli.Env), index => (index.Refresh(), index.Newest(limit, experiment)), cli.Warn);
        foreach (var problem in refresh.Broken) Broken(cli, strict, new InvalidDataException(problem));
        return newest;
    }

    /// <summary>
    /// Every run under a runs directory (of one experiment, when given), newest first, as a listing shows
    /// them (<see cref="Compare.RunIndex.Listing"/>: of the params only the label), the index brought up to date first.
    /// </summary>
    public static List<Compare.RunRow> Listing(CliContext cli, string root, bool strict, string? experiment)
    {
        if (!Directory.Exists(root)) return [];
        var (rows, refresh) = Compare.RunIndex.Use(root, Compare.RunIndex.CacheDir(cli.Env), index => index.Listing(experiment), cli.Warn);
        foreach (var problem in refresh.Broken) Broken(cli, strict, new InvalidDataException(problem));
        return rows;
    }

    /// <summary>
    /// One use of a runs directory's index, brought up to date first: above <see cref="Compare.Comparison.MarkedRuns"/>
    /// runs, what <paramref name="fast"/> answers from the index; at or below, every run's row (few; their same_config
    /// marks need them) — so a command reads the index once whichever it is.
    /// </summary>
    public static (T? Fast, List<Compare.RunRow> Rows) IndexedOrRows<T>(CliContext cli, string root, bool strict, bool allAttempts, Func<Compare.RunIndex, T> fast) where T : struct
    {
        if (!Directory.Exists(root)) return (null, []);
        var (broken, answer, rows) = Compare.RunIndex.Use(root, Compare.RunIndex.CacheDir(cli.Env), index =>
        {
            var refreshed = index.Refresh();
            if (index.Count(allAttempts) > Compare.Comparison.MarkedRuns) return (refreshed.Broken, (T?)fast(index), new List<Compare.RunRow>());
            var (loaded, again) = index.Load();
            return (again.Broken, null, loaded);
        }, cli.Warn);
        foreach (var problem in broken) Broken(cli, strict, new InvalidDataException(problem));
        return (answer, rows);
    }

    /// <summary>A whole number option within bounds, or a usage error naming it.</summary>
    public static int? Check(int? value, string option, int min, int max) =>
        value is int v && (v < min || v > max) ? throw new InputException($"{option} {v}: must be between {min} and {max}") : value;
}

/// <summary>Finds run folders under a runs directory: by path, by id, or all of them.</summary>
internal static class RunLocator
{
    /// <summary>The items whose id starts with <paramref name="reference"/>, else (none) those whose id ends with its tail ("…eaa742", four characters or more).</summary>
    public static List<T> Matching<T>(string reference, IReadOnlyList<T> items, Func<T, string> id)
    {
        var matches = items.Where(x => id(x).StartsWith(reference, StringComparison.Ordinal)).ToList();
        string tail = reference.TrimStart('…');
        return matches.Count == 0 && tail.Length >= 4 ? [.. items.Where(x => id(x).EndsWith(tail, StringComparison.Ordinal))] : matches;
    }

    /// <summary>
    /// A run folder path, or a run id (or unique prefix) looked up under the runs directory — or the id's tail as a
    /// narrow table shows it ("…eaa742" or "eaa742": its last characters, when no id starts with them).
    /// </summary>
    public static RunFolder Resolve(string reference, string root)
    {
        if (Directory.Exists(reference) && File.Exists(Path.Combine(reference, RunFolder.RecordFile)))
            return RunFolder.Open(reference);
        var matches = Matching(reference, RunFolder.FindAll(root).ToList(), r => r.Id);
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new InputException($"no run '{reference}': not a run folder, and no run id under '{root}' starts (or ends) with it"),
            _ => throw new InputException($"'{reference}' matches {matches.Count} runs: {string.Join(", ", matches.Take(5).Select(m => m.Id))}..."),
        };
    }
}

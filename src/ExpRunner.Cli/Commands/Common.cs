using System.Globalization;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Tracking;
using Spectre.Console;

namespace ExpRunner.Cli.Commands;

/// <summary>Exit codes: 0 success, 1 run failed, 2 bad input, 3 diverged, 130 interrupted.</summary>
internal static class ExitCodes
{
    public const int Ok = 0, Failed = 1, BadInput = 2, Diverged = 3, Killed = 130;
}

internal static class Common
{
    public static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Runs a command body, turning bad input into a clear message and exit code 2.</summary>
    public static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (ConfigException e)
        {
            foreach (var error in e.Errors) Error(error.ToString());
            Error($"{e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")} in the config; nothing was run.");
            return ExitCodes.BadInput;
        }
        catch (DataException e) { Error(e.Message); return ExitCodes.BadInput; }
        catch (InputException e) { Error(e.Message); return ExitCodes.BadInput; }
        catch (Compare.FilterException e)
        {
            Error($"--filter: {e.Message}");
            Console.Error.WriteLine(e.Pointer);
            return ExitCodes.BadInput;
        }
        catch (InvalidDataException e) { Error(e.Message); return ExitCodes.BadInput; }
    }

    public static void Error(string message) => Console.Error.WriteLine($"error: {message}");

    /// <summary>Ctrl-C and SIGTERM cancel <paramref name="cancel"/> instead of killing the process, so the work can end cleanly.</summary>
    public static IDisposable CancelOnSignals(CancellationTokenSource cancel)
    {
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        return System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM,
            c => { c.Cancel = true; cancel.Cancel(); });
    }

    public static string F(double v, string format = "0.0000") =>
        double.IsNaN(v) ? "NaN" : v.ToString(format, Inv);

    public static string StatusMarkup(string status) => status switch
    {
        RunStatus.Finished => "[green]FINISHED[/]",
        RunStatus.Running => "[blue]RUNNING[/]",
        RunStatus.Diverged => "[yellow]DIVERGED[/]",
        RunStatus.Killed => "[yellow]KILLED[/]",
        RunStatus.Crashed => "[red]CRASHED[/]",
        "PENDING" => "[grey]PENDING[/]",
        _ => $"[red]{Markup.Escape(status)}[/]",
    };
}

/// <summary>A command-line input that cannot be used (a run that does not exist, a bad flag value); exit code 2.</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>Finds run folders under a runs directory: by path, by id, or all of them.</summary>
internal static class RunLocator
{
    public static string DefaultRoot => Environment.GetEnvironmentVariable("EXPRUNNER_RUNS") ?? "runs";

    /// <summary>A run folder path, or a run id (or unique prefix) looked up under the runs directory.</summary>
    public static RunFolder Resolve(string reference, string root)
    {
        if (Directory.Exists(reference) && File.Exists(Path.Combine(reference, RunFolder.RecordFile)))
            return RunFolder.Open(reference);
        var matches = RunFolder.FindAll(root).Where(r => r.Id.StartsWith(reference, StringComparison.Ordinal)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new InputException($"no run '{reference}': not a run folder, and no run id under '{root}' starts with it"),
            _ => throw new InputException($"'{reference}' matches {matches.Count} runs: {string.Join(", ", matches.Take(5).Select(m => m.Id))}..."),
        };
    }
}

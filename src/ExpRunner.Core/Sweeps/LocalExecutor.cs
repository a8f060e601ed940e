using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>
/// Runs each trial as its own `exprunner run` process on this machine (single-threaded unless the
/// trial's config says otherwise), so a crash in one trial cannot take the others with it.
/// On cancellation each child gets SIGTERM, finishes its batch and records itself KILLED.
/// </summary>
public sealed class LocalExecutor(IReadOnlyList<string> exprunner, string runsRoot) : ISweepExecutor
{
    /// <summary>Matrix threads each trial may use (its share of the cores); 0 leaves the trial's own setting.</summary>
    public int MaxThreads { get; init; }

    public async Task<TrialOutcome> RunAsync(SweepRecord sweep, TrialRecord trial, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo(exprunner[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in exprunner.Skip(1)) psi.ArgumentList.Add(a);
        foreach (var a in RunArguments(sweep, trial, runsRoot)) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        if (MaxThreads > 0) psi.Environment[ThreadBudget.Variable] = MaxThreads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start exprunner");
        var stdout = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = p.StandardError.ReadToEndAsync(CancellationToken.None);
        using (cancel.Register(() => { try { kill(p.Id, 15); } catch (Exception) { } }))
            await p.WaitForExitAsync(CancellationToken.None);
        return Outcome(p.ExitCode, await stdout, await stderr, runsRoot);
    }

    /// <summary>The `exprunner run` arguments of a trial (shared with batch-scheduler executors).</summary>
    public static List<string> RunArguments(SweepRecord sweep, TrialRecord trial, string runsRoot)
    {
        var args = new List<string> { "run", sweep.ConfigFile, "--runs", runsRoot, "--json", "--sweep", $"{sweep.Id}:{trial.Index}" };
        foreach (var o in sweep.Overrides.Concat(trial.Overrides)) { args.Add("--set"); args.Add(o); }
        return args;
    }

    /// <summary>Reads the summary the child printed with --json; without one, the trial failed before training.</summary>
    public static TrialOutcome Outcome(int exitCode, string stdout, string stderr, string runsRoot)
    {
        try
        {
            var summary = Json.Deserialize<RunSummary>(stdout);
            if (summary is not null)
            {
                string dir = Path.GetFullPath(Path.Combine(runsRoot, RunFolder.Sanitize(summary.Experiment), summary.Id));
                string? reason = RunFolder.Open(dir).ReadRecord()?.Reason;
                return new TrialOutcome(summary.Status, summary.Id, dir, reason);
            }
        }
        catch (JsonException) { }
        string last = string.Join(" ", stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));
        return new TrialOutcome(exitCode == 130 ? RunStatus.Killed : RunStatus.Failed, null, null, $"exit {exitCode}: {last}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}

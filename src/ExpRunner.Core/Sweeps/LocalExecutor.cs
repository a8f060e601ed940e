using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ExpRunner.Tracking;
using ExpRunner.Training;

namespace ExpRunner.Sweeps;

/// <summary>
/// Runs each trial as its own `exprunner run` process on this machine, <c>jobs</c> at a time, so a
/// crash in one trial cannot take the others with it; each gets its share of the cores
/// (<see cref="ThreadBudget"/>). Stopping sends SIGTERM: a trial finishes its batch and records
/// itself KILLED. Trials a previous sweep process started are followed by pid until they end.
/// </summary>
public sealed partial class LocalExecutor(SweepStore store, IReadOnlyList<string> exprunner, int jobs, int maxThreads, TimeProvider clock)
    : ISweepExecutor, IDisposable
{
    private sealed record Child(Process Process, Task<string> Stdout, Task<string> Stderr)
    {
        public bool Stopped { get; set; }
    }

    private readonly Dictionary<int, Child> _children = [];
    private readonly HashSet<int> _stoppedOrphans = [];

    /// <summary>How often trials that are not our children (and run folders of new trials) are looked at.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    public int Capacity => Math.Max(1, jobs);

    public Submission Submit(SweepRecord sweep, IReadOnlyList<TrialRecord> trials)
    {
        var started = new List<TrialRecord>();
        foreach (var trial in trials)
        {
            var psi = new ProcessStartInfo(exprunner[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var a in exprunner.Skip(1).Concat(TrialRuns.Arguments(store, sweep, trial))) psi.ArgumentList.Add(a);
            psi.Environment["NO_COLOR"] = "1";
            psi.Environment[ThreadBudget.Variable] = Math.Max(1, maxThreads).ToString(CultureInfo.InvariantCulture);
            var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exprunner[0]}");
            p.StandardInput.Close();
            _children[trial.Index] = new Child(p, p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync());
            started.Add(trial with
            {
                Status = RunStatus.Running, Process = ProcessRef.Of(p), SchedulerId = null, Attempts = trial.Attempts + 1,
                Started = clock.GetUtcNow(), Reason = null, RunId = null, RunDir = null, Seconds = null,
            });
        }
        return new Submission(started);
    }

    public async Task<IReadOnlyList<TrialRecord>> PollAsync(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight, bool wait, CancellationToken wake)
    {
        if (wait)
        {
            var exits = inFlight.Where(t => _children.ContainsKey(t.Index)).Select(t => _children[t.Index].Process.WaitForExitAsync(CancellationToken.None)).ToList();
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(wake);
            exits.Add(Task.Delay(PollInterval, clock, timer.Token));
            await Task.WhenAny(exits);
            timer.Cancel();
        }
        var changes = new List<TrialRecord>();
        foreach (var t in inFlight)
        {
            if (_children.TryGetValue(t.Index, out var child))
            {
                if (child.Process.HasExited)
                {
                    child.Process.WaitForExit(); // and its output to the end
                    changes.Add(TrialRuns.Ended(store, sweep, t, child.Process.ExitCode, await child.Stdout, await child.Stderr, child.Stopped, clock.GetUtcNow()));
                    child.Process.Dispose();
                    _children.Remove(t.Index);
                }
                else if (Located(sweep, t) is { } located) changes.Add(located);
                continue;
            }
            // Started by a sweep process that is gone: follow it by its pid until it ends.
            switch (t.Process?.IsAlive())
            {
                case null when t.Process is not null:
                    throw new SweepBusyException($"trial {t.Index} of sweep {sweep.Id} runs on {t.Process.Host} ({t.Process}); follow or resume the sweep there");
                case true:
                    if (Located(sweep, t) is { } located) changes.Add(located);
                    break;
                default:
                    changes.Add(TrialRuns.Ended(store, sweep, t, null, "", "", _stoppedOrphans.Contains(t.Index), clock.GetUtcNow()));
                    break;
            }
        }
        return changes;
    }

    /// <summary>A running trial whose run folder has just appeared (its marker names it).</summary>
    private TrialRecord? Located(SweepRecord sweep, TrialRecord t) =>
        t.RunDir is null && store.ReadMarker(sweep.Id, t.Index) is { } m ? t with { RunDir = m.RunDir, RunId = m.RunId } : null;

    public void Cancel(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight)
    {
        foreach (var t in inFlight)
        {
            if (_children.TryGetValue(t.Index, out var child))
            {
                child.Stopped = true;
                if (!child.Process.HasExited) _ = kill(child.Process.Id, 15);
            }
            else if (t.Process is { } p && p.IsAlive() == true)
            {
                _stoppedOrphans.Add(t.Index);
                _ = kill(p.Pid, 15);
            }
        }
    }

    public void Dispose()
    {
        foreach (var c in _children.Values) c.Process.Dispose();
        _children.Clear();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}

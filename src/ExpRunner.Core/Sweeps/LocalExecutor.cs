using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ExpRunner.Tracking;
using ExpRunner.Training;

namespace ExpRunner.Sweeps;

/// <summary>
/// Runs trials as `exprunner run` processes on this machine, <c>jobs</c> processes at a time, each
/// with its share of the cores (<see cref="ThreadBudget"/>). With <see cref="Fuse"/> the trials that
/// can train together (<see cref="Fusion"/>) do, in groups — one process per group, the groups
/// splitting the jobs — and every other trial runs alone, so a crash in one process cannot take
/// another's trials with it. A trial of a group that ends before its group is seen ended in its run
/// folder. Stopping sends SIGTERM: a trial finishes its batch and records itself KILLED. Trials a
/// previous sweep process started are followed by pid until they end.
/// </summary>
public sealed partial class LocalExecutor(SweepStore store, IReadOnlyList<string> exprunner, int jobs, int maxThreads, TimeProvider clock)
    : ISweepExecutor, IDisposable
{
    private sealed record Child(Process Process, Task<string> Stdout, Task<string> Stderr, bool Group)
    {
        public bool Stopped { get; set; }
    }

    /// <summary>The process of each trial in flight that this executor started (a group's trials share one).</summary>
    private readonly Dictionary<int, Child> _children = [];
    private readonly HashSet<Child> _processes = [];
    private readonly HashSet<int> _stoppedOrphans = [];

    /// <summary>How often trials that are not our children (and run folders of new trials) are looked at.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Train compatible trials together (on by default in `exprunner sweep`; --no-fuse turns it off).</summary>
    public bool Fuse { get; init; }

    /// <summary>Trials one group may hold at most.</summary>
    public const int MaxGroup = 256;

    /// <summary>Fused, the engine hands over as many trials as groups on every job could take; the processes are what is limited.</summary>
    public int Capacity => Math.Max(1, jobs) * (Fuse ? MaxGroup : 1);

    /// <summary>The trials that start now: groups and lone trials on the free jobs; the rest are left for later submissions.</summary>
    public Submission Submit(SweepRecord sweep, IReadOnlyList<TrialRecord> trials)
    {
        var started = new List<TrialRecord>();
        foreach (var unit in Units(store, sweep, trials, Math.Max(1, jobs) - _processes.Count, Fuse))
        {
            var psi = new ProcessStartInfo(exprunner[0]) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var a in exprunner.Skip(1).Concat(TrialRuns.Arguments(store, sweep, unit))) psi.ArgumentList.Add(a);
            psi.Environment["NO_COLOR"] = "1";
            psi.Environment[ThreadBudget.Variable] = Math.Max(1, maxThreads).ToString(CultureInfo.InvariantCulture);
            var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {exprunner[0]}");
            p.StandardInput.Close();
            var child = new Child(p, p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync(), unit.Count > 1);
            _processes.Add(child);
            foreach (var trial in unit)
            {
                _children[trial.Index] = child;
                started.Add(trial with
                {
                    Status = RunStatus.Running, Process = ProcessRef.Of(p), SchedulerId = null, Attempts = trial.Attempts + 1,
                    Started = clock.GetUtcNow(), Reason = null, RunId = null, RunDir = null, Seconds = null,
                });
            }
        }
        return new Submission(started);
    }

    /// <summary>
    /// How <paramref name="trials"/> start on <paramref name="slots"/> processes: with <paramref name="fuse"/>
    /// compatible trials in groups (<see cref="Fusion.Plan"/>), trials that continue earlier attempts with
    /// those that continue from the same point; a search's trials alone.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<TrialRecord>> Units(SweepStore store, SweepRecord sweep, IReadOnlyList<TrialRecord> trials, int slots, bool fuse)
    {
        if (slots <= 0) return [];
        if (!fuse || sweep.Search is not null || trials.Count < Fusion.MinGroup) return [.. trials.Take(slots).Select(t => (IReadOnlyList<TrialRecord>)[t])];
        var keys = Fusion.Keys(store, sweep, trials);
        var byIndex = trials.ToDictionary(t => t.Index);
        return [.. Fusion.Plan([.. trials.Select(t => t.Index)], keys, slots)
            .SelectMany(u => u.Count <= MaxGroup ? [u] : u.Chunk(MaxGroup).Select(c => (IReadOnlyList<int>)c))
            .Select(u => (IReadOnlyList<TrialRecord>)[.. u.Select(i => byIndex[i])])];
    }

    public async Task<IReadOnlyList<TrialRecord>> PollAsync(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight, bool wait, CancellationToken wake)
    {
        if (wait)
        {
            // Any of our processes ending frees a job (a group's may outlive its trials' ends by a moment).
            var exits = _processes.Select(c => c.Process.WaitForExitAsync(CancellationToken.None)).ToList();
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(wake);
            exits.Add(Task.Delay(PollInterval, clock, timer.Token));
            await Task.WhenAny(exits);
            timer.Cancel();
        }
        var changes = new List<TrialRecord>();
        var endedNow = new HashSet<int>();
        foreach (var t in inFlight)
        {
            if (_children.TryGetValue(t.Index, out var child))
            {
                if (child.Process.HasExited)
                {
                    child.Process.WaitForExit(); // and its output to the end
                    string stdout = await child.Stdout;
                    // A group prints a summary line per trial: the one of this trial's run.
                    if (child.Group) stdout = store.ReadMarker(sweep.Id, t.Index) is { } m ? TrialRuns.SummaryLine(stdout, m.RunId) : "";
                    changes.Add(TrialRuns.Ended(store, sweep, t, child.Process.ExitCode, stdout, await child.Stderr, child.Stopped, clock.GetUtcNow()));
                    _children.Remove(t.Index);
                }
                // Seen ended in its folder while others of its group train on; the group's last trial ends with its process,
                // so that the sweep never ends while a process of it still writes its runs.
                else if (child.Group && _children.Values.Count(c => c == child) > 1 && TrialRuns.EndedInGroup(store, sweep, t, clock.GetUtcNow()) is { } ended)
                {
                    changes.Add(ended);
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
                    if (inFlight.Count(o => o.Process == t.Process && !endedNow.Contains(o.Index)) > 1
                        && TrialRuns.EndedInGroup(store, sweep, t, clock.GetUtcNow()) is { } ended)
                    {
                        changes.Add(ended);
                        endedNow.Add(t.Index);
                    }
                    else if (Located(sweep, t) is { } located) changes.Add(located);
                    break;
                default:
                    changes.Add(TrialRuns.Ended(store, sweep, t, null, "", "", _stoppedOrphans.Contains(t.Index), clock.GetUtcNow()));
                    break;
            }
        }
        foreach (var done in _processes.Where(c => c.Process.HasExited && !_children.ContainsValue(c)).ToList())
        {
            _processes.Remove(done);
            done.Process.Dispose();
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
                if (!child.Stopped && !child.Process.HasExited) _ = kill(child.Process.Id, 15);
                child.Stopped = true;
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
        foreach (var c in _processes) c.Process.Dispose();
        _processes.Clear();
        _children.Clear();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}

using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using ExpRunner.Config;
using ExpRunner.IO;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

public sealed class SlurmException(string message) : Exception(message);

/// <summary>
/// Runs a sweep's trials as Slurm job arrays (one per submission) and follows what Slurm reports
/// through `scontrol`, which works without accounting. Each array task runs `exprunner run` for
/// its trial — or, with <see cref="Fuse"/>, for a group of compatible trials trained together
/// (<see cref="Fusion"/>; about <see cref="GroupSize"/> to a task, or as many groups as
/// --max-parallel) — into the same runs directory; the batch script and task outputs stay in the
/// sweep folder. Slurm queues and limits the tasks itself, so every trial is submitted at once.
/// </summary>
public sealed class SlurmExecutor : ISweepExecutor
{
    private readonly SweepStore _store;
    private readonly IReadOnlyList<string> _exprunner;
    private readonly SlurmOptions _options;
    private readonly TimeProvider _clock;

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    public int Capacity => int.MaxValue;

    /// <summary>Train compatible trials together, a group to an array task (on by default; --no-fuse: a trial to a task).</summary>
    public bool Fuse { get; init; }

    /// <summary>Trials to a task when grouping (unless --max-parallel asks for fewer, larger groups).</summary>
    public const int GroupSize = 8;

    private SlurmExecutor(SweepStore store, IReadOnlyList<string> exprunner, SlurmOptions options, TimeProvider clock)
    {
        _store = store; _exprunner = exprunner; _options = options; _clock = clock;
    }

    /// <summary>Checks what can be checked before anything is submitted: the tools, the partition, a writable runs directory.</summary>
    public static SlurmExecutor Connect(SweepStore store, IReadOnlyList<string> exprunner, SlurmOptions options, TimeProvider clock, bool fuse = false)
    {
        var (code, stdout, stderr) = Run("sinfo", "-h", "-o", "%R");
        if (code != 0) throw new SlurmException($"Slurm does not answer (sinfo: {stderr.Trim()})");
        var partitions = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        if (options.Partition is { } partition && !partitions.Contains(partition))
            throw new SlurmException($"Slurm has no partition '{partition}' (partitions: {string.Join(", ", partitions)})");
        try
        {
            Directory.CreateDirectory(store.Root);
            string probe = Path.Combine(store.Root, $".write-test-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SlurmException($"the runs directory '{store.RunsRoot}' is not writable ({e.Message}); Slurm tasks write their run folders there");
        }
        return new SlurmExecutor(store, exprunner, options, clock) { Fuse = fuse };
    }

    public Submission Submit(SweepRecord sweep, IReadOnlyList<TrialRecord> trials)
    {
        string dir = Path.GetFullPath(_store.DirOf(sweep.Id));
        int n = (sweep.SlurmJobs?.Count ?? 0) + 1;
        string script = $"slurm-{n.ToString(CultureInfo.InvariantCulture)}.sh";
        var units = Units(sweep, trials);
        Atomic.WriteText(Path.Combine(dir, script), Script(sweep, units, dir));
        var (exit, output, error) = Run("sbatch", "--parsable", Path.Combine(dir, script));
        if (exit != 0) throw new SlurmException($"sbatch rejected the sweep: {error.Trim()}{(output.Trim().Length > 0 ? " " + output.Trim() : "")}");
        string jobId = output.Trim().Split(';')[0];
        var submitted = units.SelectMany((unit, task) => unit.Select(t => t with
        {
            Status = TrialStatus.Pending, Reason = null, RunId = null, RunDir = null, Seconds = null, Started = null, Process = null,
            SchedulerId = $"{jobId}_{task.ToString(CultureInfo.InvariantCulture)}", Attempts = t.Attempts + 1,
        })).ToList();
        return new Submission(submitted, new SlurmJob(jobId, script, trials.Select(t => t.Index).ToList()));
    }

    /// <summary>The array's tasks: every trial alone, or compatible trials in groups (every trial is in one).</summary>
    private IReadOnlyList<IReadOnlyList<TrialRecord>> Units(SweepRecord sweep, IReadOnlyList<TrialRecord> trials)
    {
        if (!Fuse || sweep.Search is not null || trials.Count < Fusion.MinGroup) return [.. trials.Select(t => (IReadOnlyList<TrialRecord>)[t])];
        var keys = Fusion.Keys(_store, sweep, trials);
        int groups = _options.MaxParallel ?? (trials.Count + GroupSize - 1) / GroupSize;
        var byIndex = trials.ToDictionary(t => t.Index);
        return [.. Fusion.Plan([.. trials.Select(t => t.Index)], keys, Math.Max(groups, Fusion.Sets(keys)))
            .Select(u => (IReadOnlyList<TrialRecord>)[.. u.Select(i => byIndex[i])])];
    }

    private string Script(SweepRecord sweep, IReadOnlyList<IReadOnlyList<TrialRecord>> trials, string dir)
    {
        var sb = new StringBuilder("#!/bin/bash\n");
        sb.Append($"#SBATCH --job-name=exprunner-{sweep.Id}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{trials.Count - 1}{(_options.MaxParallel is int m ? $"%{m}" : "")}\n");
        sb.Append($"#SBATCH --output={dir}/slurm-%A_%a.out\n#SBATCH --error={dir}/slurm-%A_%a.err\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={_options.CpusPerTask}\n");
        // Preempted, or requeued by hand or after a node failure: the task runs again and its trial continues from its checkpoint.
        sb.Append("#SBATCH --requeue\n");
        if (_options.Partition is { } p) sb.Append($"#SBATCH --partition={p}\n");
        if (_options.Time is { } time) sb.Append($"#SBATCH --time={time}\n");
        if (_options.Mem is { } mem) sb.Append($"#SBATCH --mem={mem}\n");
        foreach (var a in _options.SbatchArgs) sb.Append($"#SBATCH {a}\n");
        sb.Append($"# exprunner sweep {sweep.Id} ({sweep.Experiment}): array task -> trial (or trials trained together)\n");
        sb.Append("case \"$SLURM_ARRAY_TASK_ID\" in\n");
        for (int i = 0; i < trials.Count; i++)
        {
            var args = _exprunner.Concat(TrialRuns.Arguments(_store, sweep, trials[i])).Select(Quote);
            sb.Append(CultureInfo.InvariantCulture, $"  {i}) exec {string.Join(' ', args)} ;;\n");
        }
        sb.Append("esac\necho \"exprunner: no trial for array task $SLURM_ARRAY_TASK_ID\" >&2\nexit 2\n");
        return sb.ToString();
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    public async Task<IReadOnlyList<TrialRecord>> PollAsync(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight, bool wait, CancellationToken wake)
    {
        if (wait)
        {
            try { await Task.Delay(PollInterval, _clock, wake); }
            catch (OperationCanceledException) { }
        }
        string dir = Path.GetFullPath(_store.DirOf(sweep.Id));
        var changes = new List<TrialRecord>();
        var endedNow = new HashSet<int>();
        foreach (var job in inFlight.Where(t => t.SchedulerId is not null).GroupBy(t => t.SchedulerId!.Split('_')[0]))
        {
            var states = States(job.Key);
            foreach (var trial in job)
            {
                // A task that trains a group: a trial that ended before the others is seen in its folder, and its summary is its line of the output.
                bool group = sweep.Trials.Count(t => t.SchedulerId == trial.SchedulerId) > 1;
                int task = int.Parse(trial.SchedulerId!.Split('_')[1], CultureInfo.InvariantCulture);
                string outFile = Path.Combine(dir, $"slurm-{trial.SchedulerId}.out"), errFile = Path.Combine(dir, $"slurm-{trial.SchedulerId}.err");
                var now = _clock.GetUtcNow();
                TrialRecord next;
                if (!states.TryGetValue(task, out var s))
                    // Slurm has forgotten the job (or never saw this task): judge by what it left behind.
                    next = File.Exists(outFile) ? Ended(sweep, trial, group, 0, outFile, errFile, null, null)
                        : trial with { Status = RunStatus.Failed, Reason = "Slurm no longer knows this task and it left no output (it never started?)" };
                else next = s.State switch
                {
                    "PENDING" or "REQUEUED" or "SUSPENDED" or "RESV_DEL_HOLD" => trial with { Status = TrialStatus.Pending, Reason = s.Reason is "None" ? null : $"Slurm: {s.Reason}" },
                    // A trial seen ended in its folder while others of its task train on; the task's last one ends with the task.
                    "RUNNING" or "CONFIGURING" or "COMPLETING" or "RESIZING" or "SIGNALING" or "STAGE_OUT" =>
                        (group && inFlight.Count(o => o.SchedulerId == trial.SchedulerId && !endedNow.Contains(o.Index)) > 1
                            ? TrialRuns.EndedInGroup(_store, sweep, trial, now) : null) ?? Running(sweep, trial, now),
                    "COMPLETED" or "FAILED" => Ended(sweep, trial, group, s.ExitCode, outFile, errFile, null, null),
                    "TIMEOUT" or "CANCELLED" or "PREEMPTED" or "DEADLINE" => Ended(sweep, trial, group, s.ExitCode, outFile, errFile, RunStatus.Killed, $"Slurm {s.State}"),
                    _ => Ended(sweep, trial, group, s.ExitCode, outFile, errFile, RunStatus.Failed, $"Slurm {s.State}"),
                };
                if (next != trial) changes.Add(next);
                if (!next.InFlight) endedNow.Add(trial.Index);
            }
        }
        return changes;
    }

    private TrialRecord Running(SweepRecord sweep, TrialRecord trial, DateTimeOffset now)
    {
        var marker = trial.RunDir is null ? _store.ReadMarker(sweep.Id, trial.Index) : null;
        return trial with { Status = RunStatus.Running, Reason = null, Started = trial.Started ?? now, RunDir = trial.RunDir ?? marker?.RunDir, RunId = trial.RunId ?? marker?.RunId };
    }

    /// <summary>A task Slurm reports ended: the run's own account of it, unless Slurm ended it (then Slurm's state is the reason).</summary>
    private TrialRecord Ended(SweepRecord sweep, TrialRecord trial, bool group, int exitCode, string outFile, string errFile, string? forced, string? reason)
    {
        string stdout = ReadOrEmpty(outFile), stderr = ReadOrEmpty(errFile);
        if (group) stdout = _store.ReadMarker(sweep.Id, trial.Index) is { } m ? TrialRuns.SummaryLine(stdout, m.RunId) : "";
        var now = _clock.GetUtcNow();
        return TrialRuns.Ended(_store, sweep, trial, exitCode, stdout, stderr, stopped: false, now, forced is null ? null : (forced, reason!));
    }

    private static string ReadOrEmpty(string path)
    {
        try { return File.Exists(path) ? BoundedFile.ReadText(path, 64 << 20) : ""; }
        catch (Exception e) when (e is IOException or InvalidDataException) { return ""; }
    }

    private sealed record TaskState(string State, int ExitCode, string Reason);

    /// <summary>Array task → state, from `scontrol show job --oneliner` (pending tasks come as ranges such as 2-5%2).</summary>
    private static Dictionary<int, TaskState> States(string jobId)
    {
        var result = new Dictionary<int, TaskState>();
        var (code, stdout, _) = Run("scontrol", "show", "job", jobId, "--oneliner");
        if (code != 0) return result; // "Invalid job id": purged
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => f.Split('=', 2)).Where(f => f.Length == 2)
                .GroupBy(f => f[0]).ToDictionary(g => g.Key, g => g.First()[1]);
            if (!fields.TryGetValue("ArrayTaskId", out var ids) || !fields.TryGetValue("JobState", out var state)) continue;
            int exit = fields.TryGetValue("ExitCode", out var ec) && int.TryParse(ec.Split(':')[0], CultureInfo.InvariantCulture, out int e) ? e : 0;
            var s = new TaskState(state, exit, fields.GetValueOrDefault("Reason", "None"));
            foreach (var part in ids.Split('%')[0].Split(','))
            {
                var range = part.Split('-');
                if (!int.TryParse(range[0], CultureInfo.InvariantCulture, out int a)) continue;
                int b = range.Length > 1 && int.TryParse(range[1], CultureInfo.InvariantCulture, out int bb) ? bb : a;
                for (int i = a; i <= b; i++) result[i] = s;
            }
        }
        return result;
    }

    public void Cancel(SweepRecord sweep, IReadOnlyList<TrialRecord> inFlight)
    {
        foreach (var job in inFlight.Where(t => t.SchedulerId is not null).Select(t => t.SchedulerId!.Split('_')[0]).Distinct())
            Run("scancel", job);
    }

    private static (int Exit, string Stdout, string Stderr) Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output, err.Result);
        }
        catch (Win32Exception)
        {
            throw new SlurmException($"Slurm's '{tool}' is not on the PATH: is this a Slurm login node? (Debian: apt-get install slurm-client)");
        }
    }
}

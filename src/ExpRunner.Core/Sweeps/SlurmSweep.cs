using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>Settings of the Slurm executor (config `sweep.executor`, command-line flags win).</summary>
public sealed record SlurmOptions
{
    public string? Partition { get; init; }
    public string? Time { get; init; }
    public int CpusPerTask { get; init; } = 1;
    public string? Mem { get; init; }
    public int? MaxParallel { get; init; }
    public IReadOnlyList<string> SbatchArgs { get; init; } = [];
}

/// <summary>One submission of a sweep to Slurm: the job array, its script, and which trial each array task runs.</summary>
public sealed record SlurmJob(string JobId, string Script, IReadOnlyList<int> Trials);

public sealed class SlurmException(string message) : Exception(message);

/// <summary>
/// Runs a sweep's trials as one Slurm job array and follows what Slurm reports (scontrol, which
/// works without accounting). Each array task runs `exprunner run` for its trial into the same runs
/// directory; the batch script, job id and task outputs stay in the sweep folder.
/// </summary>
public sealed class SlurmSweep(SweepStore store, IReadOnlyList<string> exprunner, string runsRoot, SlurmOptions options)
{
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Submits the trials that need running; returns the sweep with the new job recorded.</summary>
    public SweepRecord Submit(SweepRecord sweep)
    {
        CheckRunsWritable();
        if (options.Partition is { } partition)
        {
            var (code, stdout, _) = Run("sinfo", "-h", "-o", "%R");
            var partitions = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (code == 0 && !partitions.Contains(partition))
            {
                if (sweep.SlurmJobs is null) Directory.Delete(store.DirOf(sweep.Id), recursive: true);
                throw new SlurmException($"Slurm has no partition '{partition}' (partitions: {string.Join(", ", partitions)})");
            }
        }
        var trials = sweep.Trials.Where(t => TrialStatus.NeedsRerun(t.Status)).Select(t => t.Index).ToList();
        if (trials.Count == 0) return sweep;
        string dir = Path.GetFullPath(store.DirOf(sweep.Id));
        int n = (sweep.SlurmJobs?.Count ?? 0) + 1;
        string script = Path.Combine(dir, $"slurm-{n}.sh");
        Atomic.WriteText(script, Script(sweep, trials, dir));
        var (exit, output, error) = Run("sbatch", "--parsable", script);
        if (exit != 0 && sweep.SlurmJobs is null) Directory.Delete(dir, recursive: true); // nothing of this sweep ever ran
        if (exit != 0) throw new SlurmException($"sbatch rejected the sweep: {error.Trim()}{(output.Trim().Length > 0 ? " " + output.Trim() : "")}");
        string jobId = output.Trim().Split(';')[0];
        var job = new SlurmJob(jobId, script, trials);
        var updated = sweep.Trials.Select(t => trials.Contains(t.Index)
            ? t with { Status = TrialStatus.Pending, Reason = null, RunId = null, RunDir = null, SchedulerId = $"{jobId}_{trials.IndexOf(t.Index)}" }
            : t).ToList();
        var result = sweep with { Executor = "slurm", Status = RunStatus.Running, Ended = null, Trials = updated, SlurmJobs = [.. sweep.SlurmJobs ?? [], job] };
        store.Write(result);
        return result;
    }

    private string Script(SweepRecord sweep, List<int> trials, string dir)
    {
        var sb = new StringBuilder("#!/bin/bash\n");
        sb.Append($"#SBATCH --job-name=exprunner-{sweep.Id}\n");
        sb.Append($"#SBATCH --array=0-{trials.Count - 1}{(options.MaxParallel is int m ? $"%{m}" : "")}\n");
        sb.Append($"#SBATCH --output={dir}/slurm-%A_%a.out\n#SBATCH --error={dir}/slurm-%A_%a.err\n");
        sb.Append($"#SBATCH --cpus-per-task={options.CpusPerTask}\n");
        if (options.Partition is { } p) sb.Append($"#SBATCH --partition={p}\n");
        if (options.Time is { } time) sb.Append($"#SBATCH --time={time}\n");
        if (options.Mem is { } mem) sb.Append($"#SBATCH --mem={mem}\n");
        foreach (var a in options.SbatchArgs) sb.Append($"#SBATCH {a}\n");
        sb.Append($"# exprunner sweep {sweep.Id} ({sweep.Experiment}): array task -> trial\n");
        sb.Append("case \"$SLURM_ARRAY_TASK_ID\" in\n");
        for (int i = 0; i < trials.Count; i++)
        {
            var trial = sweep.Trials[trials[i]];
            var args = exprunner.Concat(LocalExecutor.RunArguments(sweep, trial, runsRoot)).Select(Quote);
            sb.Append($"  {i}) exec {string.Join(' ', args)} ;;\n");
        }
        sb.Append("esac\necho \"exprunner: no trial for array task $SLURM_ARRAY_TASK_ID\" >&2\nexit 2\n");
        return sb.ToString();
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>Follows the sweep until every trial has ended (or <paramref name="cancel"/>), writing sweep.json as states change.</summary>
    public async Task<SweepRecord> FollowAsync(SweepRecord sweep, Action<SweepProgress>? progress, CancellationToken cancel)
    {
        while (true)
        {
            var before = sweep;
            sweep = Refresh(sweep);
            foreach (var t in sweep.Trials)
                if (t.Status != before.Trials[t.Index].Status) progress?.Invoke(Progress(sweep, t));
            if (sweep.Trials.All(t => t.Status is not (TrialStatus.Pending or RunStatus.Running))) break;
            try { await Task.Delay(PollInterval, cancel); }
            catch (OperationCanceledException) { return sweep; }
        }
        bool failed = sweep.Trials.Any(t => t.Status is RunStatus.Failed or RunStatus.Killed);
        sweep = sweep with { Status = failed ? RunStatus.Failed : RunStatus.Finished, Ended = DateTimeOffset.UtcNow };
        store.Write(sweep);
        return sweep;
    }

    public static SweepProgress Progress(SweepRecord s, TrialRecord? changed) => new(s.Trials.Count,
        s.Trials.Count(t => !TrialStatus.NeedsRerun(t.Status)), s.Trials.Count(t => t.Status == RunStatus.Running),
        s.Trials.Count(t => t.Status is RunStatus.Failed or RunStatus.Killed), changed);

    /// <summary>One look at Slurm: each unfinished trial's state, and the outcome of those that ended.</summary>
    public SweepRecord Refresh(SweepRecord sweep)
    {
        var trials = sweep.Trials.ToArray();
        string dir = Path.GetFullPath(store.DirOf(sweep.Id));
        foreach (var job in sweep.SlurmJobs ?? [])
        {
            var states = States(job.JobId);
            for (int task = 0; task < job.Trials.Count; task++)
            {
                int index = job.Trials[task];
                var trial = trials[index];
                if (trial.SchedulerId != $"{job.JobId}_{task}" || trial.Status is not (TrialStatus.Pending or RunStatus.Running)) continue;
                string outFile = Path.Combine(dir, $"slurm-{job.JobId}_{task}.out"), errFile = Path.Combine(dir, $"slurm-{job.JobId}_{task}.err");
                if (!states.TryGetValue(task, out var s))
                {
                    // Slurm has forgotten the job (or never saw this task): judge by what it left behind.
                    trials[index] = Ended(trial, File.Exists(outFile) ? 0 : 1, outFile, errFile, "COMPLETED",
                        File.Exists(outFile) ? null : "Slurm no longer knows this task and it left no output (it never started?)");
                    continue;
                }
                trials[index] = s.State switch
                {
                    "PENDING" or "REQUEUED" or "SUSPENDED" or "RESV_DEL_HOLD" => trial with { Status = TrialStatus.Pending, Reason = s.Reason is "None" ? null : $"Slurm: {s.Reason}" },
                    "RUNNING" or "CONFIGURING" or "COMPLETING" or "RESIZING" or "SIGNALING" or "STAGE_OUT" => trial with { Status = RunStatus.Running, Reason = null },
                    "COMPLETED" or "FAILED" => Ended(trial, s.ExitCode, outFile, errFile, s.State, null),
                    "TIMEOUT" or "CANCELLED" or "PREEMPTED" or "DEADLINE" => Ended(trial, s.ExitCode, outFile, errFile, s.State, $"Slurm {s.State}", RunStatus.Killed),
                    _ => Ended(trial, s.ExitCode, outFile, errFile, s.State, $"Slurm {s.State}", RunStatus.Failed),
                };
            }
        }
        var updated = sweep with { Trials = trials };
        if (trials.All(t => t.Status is not (TrialStatus.Pending or RunStatus.Running)) && updated.Status == RunStatus.Running)
            updated = updated with
            {
                Status = trials.Any(t => t.Status is RunStatus.Failed or RunStatus.Killed) ? RunStatus.Failed : RunStatus.Finished,
                Ended = DateTimeOffset.UtcNow,
            };
        store.Write(updated);
        return updated;
    }

    private TrialRecord Ended(TrialRecord trial, int exitCode, string outFile, string errFile, string state, string? reason, string? forced = null)
    {
        string stdout = File.Exists(outFile) ? File.ReadAllText(outFile) : "", stderr = File.Exists(errFile) ? File.ReadAllText(errFile) : "";
        var o = LocalExecutor.Outcome(exitCode, stdout, stderr, runsRoot);
        string status = forced ?? o.Status;
        string? runDir = o.RunDir ?? FindRun(trial);
        if (forced is not null && runDir is not null) RecordEnd(runDir, status, reason ?? $"Slurm {state}");
        return trial with { Status = status, RunId = o.RunId ?? (runDir is null ? null : Path.GetFileName(runDir)), RunDir = runDir,
            Reason = reason ?? (status == RunStatus.Finished ? null : o.Reason ?? $"Slurm {state}") };
    }

    /// <summary>The run folder a trial's array task created (it records the Slurm array job and its trial).</summary>
    private string? FindRun(TrialRecord trial)
    {
        if (trial.SchedulerId is null) return null;
        string arrayJob = trial.SchedulerId.Split('_')[0];
        foreach (var folder in RunFolder.FindAll(runsRoot))
            if (folder.ReadRecord() is { } r && r.Sweep?.Trial == trial.Index && r.Slurm?.ArrayJobId == arrayJob)
                return folder.Dir;
        return null;
    }

    /// <summary>
    /// Slurm ended a run without letting it finish (time limit, out of memory, node failure): if its
    /// run.json still says RUNNING, record how it ended, as Slurm reported it.
    /// </summary>
    private static void RecordEnd(string runDir, string status, string reason)
    {
        var folder = RunFolder.Open(runDir);
        if (folder.ReadRecord() is { Status: RunStatus.Running } record)
            folder.WriteRecord(record with { Status = status, Reason = reason, Ended = DateTimeOffset.UtcNow });
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

    public void Cancel(SweepRecord sweep)
    {
        foreach (var job in sweep.SlurmJobs ?? []) Run("scancel", job.JobId);
    }

    private void CheckRunsWritable()
    {
        try
        {
            Directory.CreateDirectory(runsRoot);
            string probe = Path.Combine(runsRoot, $".write-test-{Guid.NewGuid():N}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SlurmException($"the runs directory '{runsRoot}' is not writable ({e.Message}); Slurm tasks write their run folders there");
        }
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

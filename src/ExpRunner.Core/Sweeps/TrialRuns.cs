using System.Globalization;
using System.Text.Json;
using ExpRunner.IO;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>What every executor shares: how a trial is started (`exprunner run` arguments) and how its end is read.</summary>
public static class TrialRuns
{
    /// <summary>The `exprunner run` arguments of a trial.</summary>
    public static List<string> Arguments(SweepStore store, SweepRecord sweep, TrialRecord trial) => Arguments(store, sweep, [trial]);

    /// <summary>
    /// The `exprunner run` arguments of trials started together: one trial is given its overrides;
    /// several (`--sweep ID:N,M,…`) are read from the sweep as it configured them.
    /// </summary>
    public static List<string> Arguments(SweepStore store, SweepRecord sweep, IReadOnlyList<TrialRecord> trials)
    {
        var args = new List<string>
        {
            "run", Path.GetFullPath(store.PathOf(sweep.Id, sweep.ConfigFile)), "--runs", Path.GetFullPath(store.RunsRoot), "--json",
            "--sweep", $"{sweep.Id}:{string.Join(",", trials.Select(t => t.Index.ToString(CultureInfo.InvariantCulture)))}",
        };
        if (sweep.MlflowUri is { } uri) args.AddRange(["--mlflow", uri, "--mlflow-experiment", sweep.MlflowExperiment ?? sweep.Experiment]);
        if (trials.Count == 1) foreach (var o in sweep.Overrides.Concat(trials[0].Overrides)) { args.Add("--set"); args.Add(o); }
        return args;
    }

    /// <summary>What a trial started again finds of its earlier attempt.</summary>
    public abstract record Earlier
    {
        /// <summary>No earlier attempt to continue: the trial starts a run.</summary>
        public sealed record None : Earlier;
        /// <summary>It ended already (the task was started again after its run): its result stands, not a second run.</summary>
        public sealed record Ended(RunFolder Folder, string Status, RunSummary Summary) : Earlier;
        /// <summary>It was stopped with a checkpoint (Slurm requeued it, or sweep --resume kept its attempt): it continues in its folder.</summary>
        public sealed record Resumable(RunFolder Folder) : Earlier;
    }

    /// <summary>
    /// The sweep-trial protocol of a starting `exprunner run --sweep ID:N`: the trial's marker leads to
    /// the run of its earlier attempt, if any, and that run's record says what to do with it.
    /// </summary>
    public static Earlier Find(SweepStore store, SweepRef trial)
    {
        if (store.ReadMarker(trial.Id, trial.Trial) is not { } marker) return new Earlier.None();
        var previous = RunFolder.Open(Path.Combine(store.RunsRoot, marker.RunDir));
        if (previous.TryReadRecord() is not { } before) return new Earlier.None();
        string status = RunFolder.EffectiveStatus(before);
        if (TrialStatus.IsResult(status) && previous.ReadSummary() is { } done) return new Earlier.Ended(previous, status, done);
        if (status is RunStatus.Killed or RunStatus.Crashed or RunStatus.Failed && File.Exists(previous.PathOf(RunFolder.CheckpointFile)))
            return new Earlier.Resumable(previous);
        return new Earlier.None();
    }

    /// <summary>
    /// How a trial's run ended, from what it printed (the summary of `run --json`), the marker it
    /// left and its run folder; <paramref name="stopped"/>: the sweep stopped it (so dying of the
    /// signal before it could handle it is KILLED, not FAILED). <paramref name="forced"/>: the scheduler
    /// ended the trial (time limit, cancellation, node failure); that is how it ended, whatever the run says.
    /// </summary>
    public static TrialRecord Ended(SweepStore store, SweepRecord sweep, TrialRecord trial, int? exitCode, string stdout, string stderr,
        bool stopped, DateTimeOffset now, (string Status, string Reason)? forced = null)
    {
        var marker = store.ReadMarker(sweep.Id, trial.Index);
        string? runDir = marker?.RunDir ?? trial.RunDir, runId = marker?.RunId ?? trial.RunId;
        RunSummary? summary = null;
        try { summary = stdout.Length > 0 ? Json.Deserialize<RunSummary>(stdout) : null; }
        catch (JsonException) { }
        var record = runDir is null ? null : RunFolder.Open(Path.Combine(store.RunsRoot, runDir)).TryReadRecord();
        string status;
        string? reason;
        if (forced is { } f)
        {
            (status, reason) = f;
            // The scheduler knows why the run was stopped (a time limit, a cancellation): that is the reason
            // its folder keeps, whether the run had recorded itself KILLED on the signal or not at all.
            if (runDir is not null) RecordEnd(store, runDir, status, reason, now, replaceKilled: true);
        }
        else if (summary is not null) { status = summary.Status; reason = record?.Reason; runId ??= summary.Id; }
        else if (record is not null && record.Status != RunStatus.Running) { status = record.Status; reason = record.Reason; }
        else
        {
            string last = string.Join(" ", stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));
            bool killed = stopped || exitCode is 130 or 143;
            status = killed ? RunStatus.Killed : record is not null ? RunStatus.Crashed : RunStatus.Failed;
            reason = killed ? (record is null ? "interrupted as it started" : "interrupted") : exitCode is { } code ? $"exit {code}: {last}" : last;
            if (record is not null) RecordEnd(store, runDir!, status, reason, now);
        }
        return trial with
        {
            Status = status, Reason = status == RunStatus.Finished ? null : reason, RunId = runId, RunDir = runDir,
            Seconds = trial.Started is { } started ? Math.Round((now - started).TotalSeconds, 3) : null,
        };
    }

    /// <summary>The summary line of run <paramref name="runId"/> among a group's output lines ("" if it printed none).</summary>
    public static string SummaryLine(string stdout, string runId)
    {
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            try
            {
                if (Json.Deserialize<RunSummary>(line)?.Id == runId) return line;
            }
            catch (JsonException) { }
        return "";
    }

    /// <summary>
    /// A trial of a group still running whose run has ended by itself (finished, diverged, pruned,
    /// failed: its record says how), else null. A run stopped by a signal (KILLED) is its process's
    /// or task's end, judged when that ends — a scheduler's reason (a time limit) then replaces the run's.
    /// </summary>
    public static TrialRecord? EndedInGroup(SweepStore store, SweepRecord sweep, TrialRecord t, DateTimeOffset now)
    {
        if (store.ReadMarker(sweep.Id, t.Index) is not { } m) return null;
        var record = RunFolder.Open(Path.Combine(store.RunsRoot, m.RunDir)).TryReadRecord();
        return record is null || record.Status is RunStatus.Running or RunStatus.Killed ? null
            : Ended(store, sweep, t with { RunDir = m.RunDir, RunId = m.RunId }, null, "", "", false, now);
    }

    /// <summary>
    /// A run ended without being able to say so itself (killed by a scheduler, crashed): if its
    /// run.json still says RUNNING, record how it ended, as the sweep learned it.
    /// </summary>
    public static void RecordEnd(SweepStore store, string runDir, string status, string reason, DateTimeOffset now, bool replaceKilled = false)
    {
        var folder = RunFolder.Open(Path.Combine(store.RunsRoot, runDir));
        if (folder.TryReadRecord() is { } record && (record.Status == RunStatus.Running || replaceKilled && record.Status == RunStatus.Killed))
            folder.WriteRecord(record with { Status = status, Reason = reason, Ended = record.Ended ?? now });
    }
}

using System.Text.Json.Serialization;
using ExpRunner.Config;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>
/// A trial's life: PENDING → RUNNING → FINISHED | DIVERGED | PRUNED (results, kept) or FAILED | KILLED |
/// CRASHED (run again by --resume). A Slurm trial waits PENDING in the queue once submitted.
/// </summary>
public static class TrialStatus
{
    public const string Pending = "PENDING";

    /// <summary>A trial that ended with a result: --resume keeps it.</summary>
    public static bool IsResult(string status) => status is RunStatus.Finished or RunStatus.Diverged or RunStatus.Pruned;

    /// <summary>A trial that ended without a result: the sweep failed, --resume runs it again.</summary>
    public static bool IsFailure(string status) => status is RunStatus.Failed or RunStatus.Killed or RunStatus.Crashed;
}

/// <summary>One trial of sweep.json: its definition (overrides, seed) and its state.</summary>
public sealed record TrialRecord
{
    public required int Index { get; init; }
    public IReadOnlyList<string> Overrides { get; init; } = [];
    public long Seed { get; init; }
    public int Repeat { get; init; }

    public string Status { get; init; } = TrialStatus.Pending;
    public string? Reason { get; init; }
    public string? RunId { get; init; }
    /// <summary>The trial's run folder, relative to the runs directory (so the directory can move).</summary>
    public string? RunDir { get; init; }
    /// <summary>How many times the trial was started (resumes start it again).</summary>
    public int Attempts { get; init; }
    public DateTimeOffset? Started { get; init; }
    public double? Seconds { get; init; }
    /// <summary>Slurm: "JOBID_TASK" of the array task running this trial.</summary>
    public string? SchedulerId { get; init; }
    /// <summary>Local executor: the process running this trial.</summary>
    public ProcessRef? Process { get; init; }

    /// <summary>Started somewhere and not known to have ended: running, or queued by a scheduler.</summary>
    [JsonIgnore]
    public bool InFlight => Status == RunStatus.Running || (Status == TrialStatus.Pending && (SchedulerId is not null || Process is not null));

    /// <summary>To be started (again): never started, or ended without a result.</summary>
    [JsonIgnore]
    public bool NeedsRun => !InFlight && (Status == TrialStatus.Pending || TrialStatus.IsFailure(Status));

    [JsonIgnore]
    public string Label => string.Join(" ", Overrides);
}

/// <summary>One submission of a sweep to Slurm: the job array, its script, and which trial each array task runs.</summary>
public sealed record SlurmJob(string JobId, string Script, IReadOnlyList<int> Trials);

/// <summary>
/// sweep.json: the definition (config copy, overrides, every trial's overrides and seed, executor
/// settings) and the state of every trial as of the last snapshot; later changes are in the event
/// log it names (<see cref="SweepStore"/>).
/// </summary>
public sealed record SweepRecord : IO.IJsonRecord<SweepRecord>
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<SweepRecord> JsonInfo(bool compact) => SweepsJson.Of(compact).SweepRecord;

    public required string Id { get; init; }
    public required string Experiment { get; init; }
    /// <summary>The config as it was when the sweep started: a copy in the sweep folder (relative to it).</summary>
    public required string ConfigFile { get; init; }
    /// <summary>Where the config came from, and the commit of its working tree: trials record them as their own.</summary>
    public string? SourceConfig { get; init; }
    /// <summary>The label and tags given to the sweep (`sweep --label --tag`): every trial's run gets them.</summary>
    public string? Label { get; init; }
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
    public string? GitCommit { get; init; }
    public bool? GitDirty { get; init; }
    public IReadOnlyList<string> Overrides { get; init; } = [];
    public IReadOnlyList<string> SweptKeys { get; init; } = [];
    public int Repeats { get; init; } = 1;
    public required DateTimeOffset Created { get; init; }
    public DateTimeOffset? Ended { get; init; }
    public string Status { get; init; } = RunStatus.Running;
    public string Executor { get; init; } = "local";
    /// <summary>The MLflow server and experiment the sweep and its trials are mirrored to (no credentials: those come from the environment).</summary>
    public string? MlflowUri { get; init; }
    public string? MlflowExperiment { get; init; }
    /// <summary>The Slurm settings the sweep was submitted with (a resume keeps them).</summary>
    public SlurmOptions? Slurm { get; init; }
    /// <summary>Successive halving of the trials (each trial reads it from here, also when resumed).</summary>
    public PruneSpec? Prune { get; init; }
    /// <summary>Model-based search: trials get their values when they are about to start.</summary>
    public SearchSpec? Search { get; init; }
    public required IReadOnlyList<TrialRecord> Trials { get; init; }
    /// <summary>Slurm submissions of this sweep (the first, then one per resume).</summary>
    public IReadOnlyList<SlurmJob>? SlurmJobs { get; init; }
    /// <summary>The event log holding the changes since this snapshot (a file in the sweep folder).</summary>
    public string? Log { get; init; }
}

/// <summary>The one rule that turns the trials' statuses into the sweep's.</summary>
public static class SweepStatus
{
    /// <summary>
    /// RUNNING while any trial is in flight; FINISHED when every trial has a result (diverged and
    /// pruned are results); otherwise KILLED if the sweep was interrupted, else FAILED.
    /// </summary>
    public static string Of(IReadOnlyList<TrialRecord> trials, bool interrupted)
    {
        if (trials.Any(t => t.InFlight)) return RunStatus.Running;
        if (trials.All(t => TrialStatus.IsResult(t.Status))) return RunStatus.Finished;
        return interrupted ? RunStatus.Killed : RunStatus.Failed;
    }
}

/// <summary>How many trials are in each state — what progress displays and summaries show.</summary>
public readonly record struct SweepCounts(int Total, int Pending, int Running, int Finished, int Diverged, int Failed, int Killed, int Crashed, int Pruned = 0)
{
    public int Ended => Finished + Diverged + Failed + Killed + Crashed + Pruned;

    /// <summary>The counts with <paramref name="delta"/> trials more (or fewer) in <paramref name="status"/>.</summary>
    public SweepCounts Add(string status, int delta) => status switch
    {
        TrialStatus.Pending => this with { Pending = Pending + delta },
        RunStatus.Running => this with { Running = Running + delta },
        RunStatus.Finished => this with { Finished = Finished + delta },
        RunStatus.Diverged => this with { Diverged = Diverged + delta },
        RunStatus.Killed => this with { Killed = Killed + delta },
        RunStatus.Crashed => this with { Crashed = Crashed + delta },
        RunStatus.Pruned => this with { Pruned = Pruned + delta },
        _ => this with { Failed = Failed + delta },
    };

    public static SweepCounts Of(IEnumerable<TrialRecord> trials)
    {
        var counts = new SweepCounts();
        foreach (var t in trials) counts = counts.Add(t.Status, 1) with { Total = counts.Total + 1 };
        return counts;
    }

    /// <summary>"3 FINISHED, 1 FAILED": the non-zero counts, in a fixed order.</summary>
    public override string ToString() => string.Join(", ", new (int N, string Name)[]
        {
            (Finished, RunStatus.Finished), (Pruned, RunStatus.Pruned), (Diverged, RunStatus.Diverged), (Failed, RunStatus.Failed), (Killed, RunStatus.Killed),
            (Crashed, RunStatus.Crashed), (Running, RunStatus.Running), (Pending, TrialStatus.Pending),
        }.Where(c => c.N > 0).Select(c => $"{c.N} {c.Name}"));
}

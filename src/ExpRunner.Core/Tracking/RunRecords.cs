using ExpRunner.Data;
using ExpRunner.Training;

namespace ExpRunner.Tracking;

public static class RunStatus
{
    public const string Running = "RUNNING", Finished = "FINISHED", Failed = "FAILED", Killed = "KILLED", Diverged = "DIVERGED";
    /// <summary>Shown for a RUNNING record whose process is gone; written only by a sweep that finds one.</summary>
    public const string Crashed = "CRASHED";
    /// <summary>A sweep trial stopped at a rung of successive halving: a result, up to the epoch it reached.</summary>
    public const string Pruned = "PRUNED";

    /// <summary>The exit code of a run that ended so: 0 finished (or pruned, as its sweep asked), 3 diverged, 130 killed, 1 anything else.</summary>
    public static int ExitCode(string status) => status switch
    {
        Finished or Pruned => 0,
        Diverged => 3,
        Killed => 130,
        _ => 1,
    };
}

/// <summary>run.json: who ran what, when, on which data, and how it ended.</summary>
public sealed record RunRecord : IO.IJsonRecord<RunRecord>
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<RunRecord> JsonInfo(bool compact) => TrackingJson.Of(compact).RunRecord;

    public required string Id { get; init; }
    public required string Experiment { get; init; }
    public required string Status { get; init; }
    public string? Reason { get; init; }
    public required DateTimeOffset Started { get; init; }
    public DateTimeOffset? Ended { get; init; }
    public double? DurationSeconds { get; init; }
    public long Seed { get; init; }
    public string? ConfigFile { get; init; }
    /// <summary>SHA-256 of the run's config.yaml as written when it started: a resume refuses a config edited since.</summary>
    public string? ConfigSha256 { get; init; }
    /// <summary>The user's config when <see cref="ConfigFile"/> is a copy of it (a sweep's).</summary>
    public string? SourceConfig { get; init; }
    public IReadOnlyList<string> Overrides { get; init; } = [];
    public string Precision { get; init; } = "float32";
    public int Threads { get; init; } = 1;
    public DatasetFingerprint? Dataset { get; init; }
    public string? GitCommit { get; init; }
    /// <summary>Whether the config's git working tree had uncommitted changes (null: unknown).</summary>
    public bool? GitDirty { get; init; }
    public IReadOnlyDictionary<string, string> Versions { get; init; } = new Dictionary<string, string>();
    public string Host { get; init; } = "";
    /// <summary>Who ran it (the operating system's user name).</summary>
    public string? User { get; init; }
    public int Pid { get; init; }
    public DateTimeOffset? ProcessStart { get; init; }
    public int? ExitCode { get; init; }
    /// <summary>The sweep and trial this run belongs to, if any.</summary>
    public SweepRef? Sweep { get; init; }
    /// <summary>The Slurm job and array task that ran this run, if any.</summary>
    public SlurmRef? Slurm { get; init; }
    /// <summary>Set when a sweep ran this run's trial again: this attempt is kept, but it is not the trial's result.</summary>
    public string? SupersededBy { get; init; }
    /// <summary>Each time the run was continued from its checkpoint (run --resume): when, after which epoch, where.</summary>
    public IReadOnlyList<Resumption> Resumptions { get; init; } = [];
    /// <summary>The folder the run ran in: relative data paths of its config are read from there.</summary>
    public string? WorkingDirectory { get; init; }
    /// <summary>What the run was: null for training; "lr-find" for a learning-rate range test.</summary>
    public string? Kind { get; init; }
}

public sealed record Resumption(DateTimeOffset At, int FromEpoch, string Host, int Pid);

public sealed record SweepRef(string Id, int Trial);

public sealed record SlurmRef(string JobId, string? ArrayJobId, string? ArrayTaskId)
{
    public static SlurmRef? From(Func<string, string?> env) => env("SLURM_JOB_ID") is { } job
        ? new SlurmRef(job, env("SLURM_ARRAY_JOB_ID"), env("SLURM_ARRAY_TASK_ID"))
        : null;
}

/// <summary>summary.json: final and best metrics plus the flattened parameters — all compare needs.</summary>
public sealed record RunSummary : IO.IJsonRecord<RunSummary>
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<RunSummary> JsonInfo(bool compact) => TrackingJson.Of(compact).RunSummary;

    public required string Id { get; init; }
    public required string Experiment { get; init; }
    public required string Status { get; init; }
    public int EpochsRun { get; init; }
    public long Steps { get; init; }
    public double DurationSeconds { get; init; }
    /// <summary>The metrics of the epoch whose weights model.safetensors holds (the last, or the best one early stopping kept).</summary>
    public IReadOnlyDictionary<string, double> Final { get; init; } = new Dictionary<string, double>();
    /// <summary>The epoch whose weights model.safetensors holds.</summary>
    public int? WeightsEpoch { get; init; }
    public int? BestEpoch { get; init; }
    public string? BestBy { get; init; }
    public IReadOnlyDictionary<string, double> Best { get; init; } = new Dictionary<string, double>();
    public IReadOnlyDictionary<string, string> Params { get; init; } = new Dictionary<string, string>();
    /// <summary>The data the run trained and was tested on (name, source, counts): results mean little without it.</summary>
    public DatasetFingerprint? Data { get; init; }
    /// <summary>As in run.json: a later attempt of the same sweep trial replaced this one.</summary>
    public string? SupersededBy { get; init; }
}

/// <summary>One sample of the machine while a run trained (a row of system.csv), under MLflow's system metric names.</summary>
public sealed record SystemSample(long Step, DateTimeOffset At, IReadOnlyDictionary<string, double> Values);

/// <summary>One row of metrics.csv.</summary>
public sealed record MetricRow(int Epoch, string Split, long Step, double Loss, double Accuracy, double LearningRate, double Seconds, long TimestampMs)
{
    /// <summary>An epoch's rows, one per split: the one mapping from training's metrics to what is written and mirrored.</summary>
    public static IEnumerable<MetricRow> From(EpochMetrics m) => m.Splits.Select(s =>
        new MetricRow(m.Epoch, s.Split, m.Step, s.Loss, s.Accuracy, m.LearningRate, m.Seconds, m.Timestamp.ToUnixTimeMilliseconds()));
}

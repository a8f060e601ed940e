using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

public static class TrialStatus
{
    public const string Pending = "PENDING";
    /// <summary>Statuses after which --resume runs a trial again.</summary>
    public static bool NeedsRerun(string status) =>
        status is Pending or RunStatus.Running or RunStatus.Failed or RunStatus.Killed or RunStatus.Crashed;
}

public sealed record TrialRecord
{
    public required int Index { get; init; }
    public required IReadOnlyList<string> Overrides { get; init; }
    public long Seed { get; init; }
    public int Repeat { get; init; }
    public string Status { get; init; } = TrialStatus.Pending;
    public string? RunId { get; init; }
    public string? RunDir { get; init; }
    public string? Reason { get; init; }
    public double? Seconds { get; init; }
    /// <summary>Slurm: "JOBID_TASK" of the array task running this trial.</summary>
    public string? SchedulerId { get; init; }
}

/// <summary>sweep.json: the definition, every trial's overrides, run and status — a sweep as a unit.</summary>
public sealed record SweepRecord
{
    public required string Id { get; init; }
    public required string Experiment { get; init; }
    /// <summary>The config as it was when the sweep started (a copy lives beside sweep.json).</summary>
    public required string ConfigFile { get; init; }
    public string? SourceConfig { get; init; }
    public IReadOnlyList<string> Overrides { get; init; } = [];
    public IReadOnlyList<string> SweptKeys { get; init; } = [];
    public int Repeats { get; init; } = 1;
    public required DateTimeOffset Created { get; init; }
    public DateTimeOffset? Ended { get; init; }
    public string Status { get; init; } = RunStatus.Running;
    public string Executor { get; init; } = "local";
    public required IReadOnlyList<TrialRecord> Trials { get; init; }
    /// <summary>Slurm submissions of this sweep (the first, then one per resume).</summary>
    public IReadOnlyList<SlurmJob>? SlurmJobs { get; init; }
}

/// <summary>Sweep folders: runs/_sweeps/&lt;sweep-id&gt;/ with sweep.json and config.yaml.</summary>
public sealed class SweepStore(string runsRoot)
{
    public const string Folder = "_sweeps", RecordFile = "sweep.json", ConfigFile = "config.yaml";
    public string Root => Path.Combine(runsRoot, Folder);
    public string DirOf(string id) => Path.Combine(Root, id);
    private readonly Lock _lock = new();

    public string NewId(DateTimeOffset now)
    {
        Directory.CreateDirectory(Root);
        while (true)
        {
            string id = $"{now.UtcDateTime:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
            if (Directory.Exists(DirOf(id))) continue; // a random suffix colliding within the same second
            Directory.CreateDirectory(DirOf(id));
            return id;
        }
    }

    public void Write(SweepRecord record)
    {
        lock (_lock) Atomic.WriteText(Path.Combine(DirOf(record.Id), RecordFile), Json.Serialize(record));
    }

    public SweepRecord Read(string idOrLatest)
    {
        string id = idOrLatest == "latest" ? Latest() ?? throw new FileNotFoundException($"no sweeps under {Root}") : Resolve(idOrLatest);
        string path = Path.Combine(DirOf(id), RecordFile);
        return Json.Deserialize<SweepRecord>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: unreadable");
    }

    private string Resolve(string prefix)
    {
        if (!Directory.Exists(Root)) throw new FileNotFoundException($"no sweep '{prefix}': there are no sweeps under {Root}");
        var matches = Directory.GetDirectories(Root).Select(Path.GetFileName).Where(n => n!.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        return matches.Count == 1 ? matches[0]! : throw new FileNotFoundException(matches.Count == 0
            ? $"no sweep '{prefix}' under {Root}" : $"'{prefix}' matches {matches.Count} sweeps");
    }

    public string? Latest() => Directory.Exists(Root)
        ? Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, RecordFile))).Select(Path.GetFileName).Order(StringComparer.Ordinal).LastOrDefault()
        : null;
}

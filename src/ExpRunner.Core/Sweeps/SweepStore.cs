using System.Text;
using ExpRunner.IO;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>A change to a sweep, one line of its event log: a trial's new state, a Slurm submission, or the sweep's status.</summary>
public sealed record SweepEvent : IO.IJsonRecord<SweepEvent>
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<SweepEvent> JsonInfo(bool compact) => SweepsJson.Of(compact).SweepEvent;

    public DateTimeOffset At { get; init; }
    public TrialRecord? Trial { get; init; }
    /// <summary>A search proposed a trial's values (its overrides, seed included) as it was about to start.</summary>
    public TrialProposal? Proposal { get; init; }
    public SlurmJob? SlurmJob { get; init; }
    public string? Status { get; init; }
    public DateTimeOffset? Ended { get; init; }
}

/// <summary>The values a search gave trial <paramref name="Trial"/>.</summary>
public sealed record TrialProposal(int Trial, IReadOnlyList<string> Overrides);

/// <summary>Where a trial's run process says it is: written by the run itself as soon as its folder exists.</summary>
public sealed record TrialMarker(string RunId, string RunDir, ProcessRef Process) : IO.IJsonRecord<TrialMarker>
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<TrialMarker> JsonInfo(bool compact) => SweepsJson.Of(compact).TrialMarker;
}

/// <summary>
/// Sweep folders: runs/_sweeps/&lt;sweep-id&gt;/ with sweep.json (definition and a snapshot of every
/// trial's state), the config copy, an append-only event log of the changes since the snapshot
/// (so a state change costs one line, not a rewrite of a 100,000-trial record), trials/N.json
/// markers written by the trials' runs, and the lock of the process running the sweep.
/// Paths inside are relative to the runs directory or the sweep folder, so runs/ can move.
/// </summary>
public sealed class SweepStore(string runsRoot)
{
    public const string Folder = "_sweeps", RecordFile = "sweep.json", ConfigFile = "config.yaml";
    /// <summary>A sweep.json (or its event log) bigger than this is not read.</summary>
    public const long MaxRecordBytes = 1L << 30;

    public string RunsRoot { get; } = runsRoot;
    public string Root => Path.Combine(RunsRoot, Folder);
    public string DirOf(string id) => Path.Combine(Root, id);
    public string PathOf(string id, string file) => Path.Combine(DirOf(id), file);

    /// <summary>A trial's run folder as a full path (records keep it relative to the runs directory).</summary>
    public string? RunDirOf(TrialRecord trial) => trial.RunDir is null ? null : Path.GetFullPath(Path.Combine(RunsRoot, trial.RunDir));

    /// <summary>The folder of the runs directory's trash (`exprunner rm` moves run folders there).</summary>
    public const string TrashFolder = ".trash";

    /// <summary>Whether a trial's run was deleted (`exprunner rm`): its folder is gone from the runs and is in the trash.</summary>
    public bool Deleted(TrialRecord trial) =>
        trial.RunDir is { } rel && !Directory.Exists(Path.Combine(RunsRoot, rel)) && Directory.Exists(Path.Combine(RunsRoot, TrashFolder, rel));

    /// <summary>The run folder as records keep it: relative to the runs directory when inside it.</summary>
    public string Relative(string runDir)
    {
        string relative = Path.GetRelativePath(Path.GetFullPath(RunsRoot), Path.GetFullPath(runDir));
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? Path.GetFullPath(runDir) : relative;
    }

    /// <summary>Creates the sweep folder with its config copy and first snapshot; returns the record with its new id.</summary>
    public SweepRecord Create(SweepRecord record, string configText, DateTimeOffset now)
    {
        Directory.CreateDirectory(Root);
        string id;
        while (true)
        {
            id = $"{now.UtcDateTime:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
            try
            {
                // Creating the folder's config exclusively claims the id, even against a concurrent sweep.
                Directory.CreateDirectory(DirOf(id));
                using var fs = new FileStream(PathOf(id, ConfigFile), FileMode.CreateNew, FileAccess.Write);
                fs.Write(Encoding.UTF8.GetBytes(configText));
                break;
            }
            catch (IOException) when (File.Exists(PathOf(id, ConfigFile))) { }
        }
        var created = record with { Id = id, ConfigFile = ConfigFile, Log = "events-1.jsonl" };
        Atomic.WriteText(PathOf(id, RecordFile), Json.Serialize(created));
        return created;
    }

    public string Resolve(string idOrLatest)
    {
        if (idOrLatest == "latest") return Latest() ?? throw new FileNotFoundException($"no sweeps under {Root}");
        if (!Directory.Exists(Root)) throw new FileNotFoundException($"no sweep '{idOrLatest}': there are no sweeps under {Root}");
        var matches = Ids().Where(n => n.StartsWith(idOrLatest, StringComparison.Ordinal)).ToList();
        return matches.Count == 1 ? matches[0] : throw new FileNotFoundException(matches.Count == 0
            ? $"no sweep '{idOrLatest}' under {Root}" : $"'{idOrLatest}' matches {matches.Count} sweeps: {string.Join(", ", matches.Take(5))}");
    }

    public string? Latest() => Ids().LastOrDefault();

    /// <summary>Every sweep id, oldest first (ids start with their UTC creation time).</summary>
    public IReadOnlyList<string> Ids() => Directory.Exists(Root)
        ? Directory.GetDirectories(Root).Where(d => File.Exists(Path.Combine(d, RecordFile))).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToList()
        : [];

    /// <summary>The sweep as it stands: its snapshot with the event log replayed on top.</summary>
    public SweepRecord Read(string idOrLatest)
    {
        string id = Resolve(idOrLatest);
        string path = PathOf(id, RecordFile);
        SweepRecord record;
        try { record = Json.Deserialize<SweepRecord>(BoundedFile.ReadText(path, MaxRecordBytes)) ?? throw new InvalidDataException($"{path}: empty"); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{path}: not a readable sweep record ({e.Message})"); }
        if (record.Trials is null || record.Trials.Select((t, i) => t.Index == i).Contains(false))
            throw new InvalidDataException($"{path}: the trials are missing or out of order");
        return record.Log is null ? record : Replay(record, PathOf(id, record.Log));
    }

    private static SweepRecord Replay(SweepRecord record, string log)
    {
        if (!File.Exists(log)) return record;
        var trials = record.Trials.ToArray();
        var jobs = (record.SlurmJobs ?? []).ToList();
        // A last line cut short by a crash is left out; the next append drops it.
        foreach (var (line, text) in JsonLines.Read(log, MaxRecordBytes).Lines)
        {
            int n = line - 1;
            SweepEvent? e;
            try { e = Json.Deserialize<SweepEvent>(text); }
            catch (System.Text.Json.JsonException ex) { throw new InvalidDataException($"{log}:{n + 1}: not a sweep event ({ex.Message})"); }
            if (e is null) continue;
            if (e.Trial is { } t)
            {
                if (t.Index < 0 || t.Index >= trials.Length) throw new InvalidDataException($"{log}:{n + 1}: trial {t.Index} does not exist");
                var def = trials[t.Index];
                trials[t.Index] = t with { Overrides = def.Overrides, Seed = def.Seed, Repeat = def.Repeat };
            }
            if (e.Proposal is { } p)
            {
                if (p.Trial < 0 || p.Trial >= trials.Length) throw new InvalidDataException($"{log}:{n + 1}: trial {p.Trial} does not exist");
                trials[p.Trial] = trials[p.Trial] with { Overrides = p.Overrides };
            }
            if (e.SlurmJob is { } job) jobs.Add(job);
            if (e.Status is { } status) record = record with { Status = status, Ended = e.Ended };
        }
        return record with { Trials = trials, SlurmJobs = jobs.Count > 0 ? jobs : record.SlurmJobs };
    }

    /// <summary>Appends changes to the sweep's event log (only the holder of the sweep's lock writes).</summary>
    public void Append(SweepRecord sweep, IEnumerable<SweepEvent> events)
    {
        var sb = new StringBuilder();
        foreach (var e in events)
        {
            var line = e.Trial is { } t ? e with { Trial = t with { Overrides = null! } } : e; // the definition is in the snapshot
            sb.Append(Json.Line(line)).Append('\n');
        }
        if (sb.Length == 0) return;
        JsonLines.Append(PathOf(sweep.Id, sweep.Log ?? "events-1.jsonl"), sb.ToString());
    }

    /// <summary>Writes a new snapshot and starts a new, empty event log; returns the record naming it.</summary>
    public SweepRecord Save(SweepRecord sweep)
    {
        int generation = sweep.Log is { } log && int.TryParse(log.Replace("events-", "").Replace(".jsonl", ""), System.Globalization.CultureInfo.InvariantCulture, out int g) ? g + 1 : 1;
        var saved = sweep with { Log = $"events-{generation}.jsonl" };
        Atomic.WriteText(PathOf(sweep.Id, RecordFile), Json.Serialize(saved));
        foreach (var old in Directory.GetFiles(DirOf(sweep.Id), "events-*.jsonl"))
            if (Path.GetFileName(old) != saved.Log) File.Delete(old);
        return saved;
    }

    public string MarkerPath(string sweepId, int trial) => Path.Combine(DirOf(sweepId), "trials", $"{trial}.json");

    /// <summary>Called by a trial's run as soon as its folder exists, so the sweep knows where it is before it ends.</summary>
    public void WriteMarker(string sweepId, int trial, string runDir, string runId)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(MarkerPath(sweepId, trial))!);
        Atomic.WriteText(MarkerPath(sweepId, trial), Json.Serialize(new TrialMarker(runId, Relative(runDir), ProcessRef.Current())));
    }

    public TrialMarker? ReadMarker(string sweepId, int trial)
    {
        string path = MarkerPath(sweepId, trial);
        try { return File.Exists(path) ? Json.Deserialize<TrialMarker>(BoundedFile.ReadText(path, 1 << 20)) : null; }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or InvalidDataException) { return null; }
    }

    /// <summary>Before a trial starts again: its previous attempt's marker must not be mistaken for the new one's.</summary>
    public void ClearMarker(string sweepId, int trial)
    {
        if (File.Exists(MarkerPath(sweepId, trial))) File.Delete(MarkerPath(sweepId, trial));
    }

    /// <summary>Takes the sweep's lock, or says who holds it (<see cref="SweepBusyException"/>).</summary>
    public SweepLock Lock(string sweepId) => SweepLock.Acquire(DirOf(sweepId));
}

using ExpRunner.Tracking;

namespace ExpRunner.Compare;

/// <summary>What compare knows about one run: read from summary.json alone (run.json if there is no summary).</summary>
public sealed record RunRow(string Id, string Experiment, string Status, string Dir, DateTimeOffset? Started,
    IReadOnlyDictionary<string, string> Params, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>A sweep ran this run's trial again (see <see cref="RunRecord.SupersededBy"/>).</summary>
    public bool Superseded { get; init; }

    /// <summary>The run's process, for telling a RUNNING record whose process is gone (CRASHED) when the row is shown.</summary>
    public ProcessRef? Owner { get; init; }

    /// <summary>
    /// The one reading of a run folder that every command shares (list, compare, show, the index, the
    /// UI): identity, start and status from run.json — the authority on how a run ended, as it is
    /// written last — and the final metrics (with best_epoch, epochs_run and duration) and parameters
    /// from summary.json when there is one. Null for a folder still being created (an empty run.json
    /// younger than a minute); <see cref="InvalidDataException"/> naming the file when run.json or
    /// summary.json is broken. The status is as recorded; <see cref="Shown"/> turns a RUNNING run
    /// whose process is gone into CRASHED.
    /// </summary>
    public static RunRow? Read(RunFolder folder)
    {
        var record = folder.ReadRecord();
        if (record is null) return null;
        var summary = folder.ReadSummary();
        var metrics = new Dictionary<string, double>();
        if (summary is not null)
        {
            foreach (var (k, v) in summary.Final) metrics[k] = v;
            metrics["epochs_run"] = summary.EpochsRun;
            metrics["duration"] = summary.DurationSeconds;
            if (summary.BestEpoch is int best) metrics["best_epoch"] = best;
        }
        var parameters = summary is null ? ParamsOfConfig(folder) : CurrentKeys(summary.Params);
        // The label and tags a person gave the run (meta.json) are read as parameters: label, tags.KEY.
        var meta = RunMeta.Read(folder);
        if (meta.Label is not null || meta.Tags.Count > 0) parameters = parameters.Concat(meta.AsParams()).ToDictionary(kv => kv.Key, kv => kv.Value);
        return new RunRow(record.Id, record.Experiment, record.Status, folder.Dir, record.Started, parameters, metrics)
        {
            Superseded = record.SupersededBy is not null || summary?.SupersededBy is not null,
            Owner = new ProcessRef(record.Host, record.Pid, record.ProcessStart),
        };
    }

    /// <summary>A run without a summary yet (running, crashed, killed early): its parameters from its resolved config.yaml, so filters and groups see it.</summary>
    private static IReadOnlyDictionary<string, string> ParamsOfConfig(RunFolder folder)
    {
        try { return Config.ConfigWriter.Flatten(Config.ConfigLoader.Load(folder.PathOf(RunFolder.ConfigFile)).Config).ToDictionary(kv => kv.Key, kv => kv.Value); }
        catch (Exception e) when (e is Config.ConfigException or IOException or UnauthorizedAccessException) { return new Dictionary<string, string>(); }
    }

    /// <summary>
    /// Parameters under today's keys: runs recorded before the optimizer was a group have its settings
    /// loose (training.momentum); they are read as training.optimizer.momentum, so old and new runs
    /// filter, group and compare on the same keys. (The one migration of parameter keys so far.)
    /// </summary>
    public static IReadOnlyDictionary<string, string> CurrentKeys(IReadOnlyDictionary<string, string> recorded)
    {
        if (!recorded.Keys.Any(k => k.StartsWith("training.", StringComparison.Ordinal) && Config.Optimizers.Kinds.Keys.Contains(k["training.".Length..])))
            return recorded;
        var current = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in recorded)
            current[k.StartsWith("training.", StringComparison.Ordinal) && Config.Optimizers.Kinds.Keys.Contains(k["training.".Length..])
                ? "training.optimizer." + k["training.".Length..] : k] = v;
        return current;
    }

    /// <summary>As shown: a RUNNING row whose process no longer exists is CRASHED.</summary>
    public RunRow Shown() => Status == RunStatus.Running && Owner?.IsAlive() == false ? this with { Status = RunStatus.Crashed } : this;

    /// <summary><see cref="Read"/> as shown.</summary>
    public static RunRow? Load(RunFolder folder) => Read(folder)?.Shown();
}

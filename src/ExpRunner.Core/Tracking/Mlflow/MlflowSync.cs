using ExpRunner.Config;
using ExpRunner.IO;

namespace ExpRunner.Tracking.Mlflow;

/// <summary>mlflow.json in a run folder: which MLflow run mirrors it, and whether the mirror is complete.</summary>
public sealed record MlflowState : IO.IJsonRecord<MlflowState>
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<MlflowState> JsonInfo(bool compact) => TrackingJson.Of(compact).MlflowState;

    public const string File = "mlflow.json";
    public required string TrackingUri { get; init; }
    public required string Experiment { get; init; }
    public string? ExperimentId { get; init; }
    public string? RunId { get; init; }
    /// <summary>The sweep's MLflow run, when this run is one of its trials (tagged mlflow.parentRunId).</summary>
    public string? ParentRunId { get; init; }
    public bool Complete { get; init; }
    /// <summary>What did not reach the server, in words (for the user and for `mlflow push`).</summary>
    public IReadOnlyList<string> Missing { get; init; } = [];
    public string? Error { get; init; }
    public DateTimeOffset Updated { get; init; }

    public static MlflowState? Read(RunFolder folder)
    {
        string path = folder.PathOf(File);
        try { return System.IO.File.Exists(path) ? Json.Deserialize<MlflowState>(System.IO.File.ReadAllText(path)) : null; }
        catch (System.Text.Json.JsonException) { return null; }
    }

    public void Write(RunFolder folder) => Atomic.WriteText(folder.PathOf(File), Json.Serialize(this));
}

public sealed record SyncReport(string RunId, bool Created, int ParamsLogged, int MetricsLogged, int Artifacts, bool ArtifactsProxied, string? Status);

/// <summary>
/// Brings the MLflow copy of a run folder up to date, idempotently: finds the MLflow run (by the
/// exprunner.run_id tag) or creates it, then logs only the params, tags and metric steps the server
/// lacks, uploads the artifacts and sets the final status. Used at the end of a live run and by
/// `exprunner mlflow push`.
/// </summary>
public sealed class MlflowSync(MlflowClient client, Action<string> warn, TimeProvider? clock = null)
{
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    public const string RunIdTag = "exprunner.run_id";
    private static readonly string[] Splits = ["train", "validation", "test"];
    private bool _warnedArtifacts;

    /// <summary>The tag listing which MLflow tags came from the run's own tags (so a push can remove those removed locally).</summary>
    public const string UserTagsTag = "exprunner.tags";

    /// <summary>
    /// What a person said of the run (meta.json) as MLflow tags: each tag as it is, the label as the run's name
    /// (mlflow.runName) and exprunner.label, the note as mlflow.note.content (the description MLflow's UI shows),
    /// and exprunner.tags listing the tag keys.
    /// </summary>
    public static List<KeyValuePair<string, string>> MetaTags(RunFolder folder)
    {
        RunMeta meta;
        try { meta = RunMeta.Read(folder); }
        catch (InvalidDataException) { return []; }
        var tags = meta.Tags.Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value)).ToList();
        if (meta.Label is { } label) { tags.Add(new("mlflow.runName", label)); tags.Add(new("exprunner.label", label)); }
        if (meta.Note is { } note) tags.Add(new("mlflow.note.content", note));
        tags.Add(new(UserTagsTag, string.Join(",", meta.Tags.Keys)));
        return tags;
    }

    public static IEnumerable<KeyValuePair<string, string>> Tags(RunRecord record, string? parentRunId = null)
    {
        yield return new("mlflow.runName", record.Id);
        yield return new("mlflow.source.name", record.SourceConfig ?? record.ConfigFile ?? "");
        yield return new("mlflow.source.type", "LOCAL");
        if (record.GitCommit is { } commit) yield return new("mlflow.source.git.commit", commit);
        if (record.User is { } user) yield return new("mlflow.user", user);
        if (parentRunId is not null) yield return new("mlflow.parentRunId", parentRunId);
        yield return new(RunIdTag, record.Id);
        yield return new("exprunner.experiment", record.Experiment);
        if (record.Sweep is { } s) { yield return new("exprunner.sweep_id", s.Id); yield return new("exprunner.trial", s.Trial.ToString(System.Globalization.CultureInfo.InvariantCulture)); }
    }

    public static IReadOnlyList<KeyValuePair<string, string>> Params(RunFolder folder) =>
        ConfigWriter.Flatten(ConfigLoader.Load(folder.PathOf(RunFolder.ConfigFile)).Config);

    public static IEnumerable<MlflowMetric> Metrics(IEnumerable<MetricRow> rows) => rows.SelectMany(r => new[]
    {
        new MlflowMetric($"{r.Split}_loss", r.Loss, r.TimestampMs, r.Epoch),
        new MlflowMetric($"{r.Split}_accuracy", r.Accuracy, r.TimestampMs, r.Epoch),
    }).Where(m => double.IsFinite(m.Value));

    /// <summary>System metrics as MLflow's own client names them (system/cpu_utilization_percentage, ...), step = the sample's number.</summary>
    public static IEnumerable<MlflowMetric> Metrics(SystemSample s) =>
        s.Values.Select(v => new MlflowMetric("system/" + v.Key, v.Value, s.At.ToUnixTimeMilliseconds(), s.Step)).Where(m => double.IsFinite(m.Value));

    /// <summary>
    /// The per-step record as MLflow metrics, step = the training step: batch_loss, batch_accuracy,
    /// learning_rate, and each probe under its column's name (layer0.weight.update_ratio, …) on probed steps.
    /// </summary>
    /// <remarks>
    /// With <paramref name="singles"/> (a float32 run, its probes written as float32's shortest text) a value is sent
    /// as that text reads back, so the live mirror, a push from the file and pandas all see the same number.
    /// </remarks>
    public static IEnumerable<MlflowMetric> Metrics(IEnumerable<Training.StepMetrics> steps, Func<int, long> timestampOfEpoch, IReadOnlyList<string>? probes = null, bool singles = false) => steps.SelectMany(s =>
    {
        long at = timestampOfEpoch(s.Epoch);
        var all = new List<MlflowMetric>(3 + (s.Probes?.Length ?? 0))
        {
            new("batch_loss", s.Loss, at, s.Step), new("batch_accuracy", s.Accuracy, at, s.Step), new("learning_rate", s.LearningRate, at, s.Step),
        };
        if (s.Probes is { } values && probes is not null)
            for (int i = 0; i < probes.Count; i++)
                all.Add(new MlflowMetric(probes[i], singles && double.IsFinite(values[i])
                    ? double.Parse(((float)values[i]).ToString("R", System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture) : values[i], at, s.Step));
        return all;
    }).Where(m => double.IsFinite(m.Value));

    /// <summary>Everything a run folder holds for MLflow's metrics: the epochs', every step's and the system samples'.</summary>
    public static List<MlflowMetric> Metrics(RunFolder folder)
    {
        var epochs = folder.ReadMetrics();
        var at = epochs.GroupBy(m => m.Epoch).ToDictionary(g => g.Key, g => g.First().TimestampMs);
        long last = epochs.Count > 0 ? epochs.Max(m => m.TimestampMs) : 0;
        var steps = File.Exists(folder.PathOf(StepLog.File)) ? StepLog.ReadRecord(folder) : new StepRecord([], []);
        return [.. Metrics(epochs), .. Metrics(steps.Steps, e => at.GetValueOrDefault(e, last), steps.ProbeColumns), .. folder.ReadSystem().SelectMany(Metrics)];
    }

    /// <summary>
    /// MLflow knows RUNNING, FINISHED, FAILED, KILLED; DIVERGED and CRASHED become FAILED, PRUNED (stopped
    /// early, as its sweep asked) FINISHED — each with the tag exprunner.status saying which.
    /// </summary>
    public static string MlflowStatus(string status) => status switch
    {
        RunStatus.Finished or RunStatus.Killed or RunStatus.Running => status,
        RunStatus.Pruned => RunStatus.Finished,
        _ => RunStatus.Failed,
    };

    /// <summary>The MLflow run mirroring <paramref name="record"/>: the known one, else the one tagged with its id, else a new one.</summary>
    public async Task<(MlflowRunInfo Info, bool Created)> EnsureRunAsync(RunRecord record, string experimentId, string? knownRunId, CancellationToken ct,
        string? parentRunId = null)
    {
        if (knownRunId is not null)
        {
            try { return ((await client.GetRunAsync(knownRunId, ct)).Info, false); }
            catch (MlflowException e) when (e.Status == 404 || e.ErrorCode == "RESOURCE_DOES_NOT_EXIST") { }
        }
        if (await client.FindRunByTagAsync(experimentId, RunIdTag, record.Id, ct) is { } found) return (found, false);
        return (await client.CreateRunAsync(experimentId, record.Id, record.Started.ToUnixTimeMilliseconds(), Tags(record, parentRunId), record.User, ct), true);
    }

    public async Task<SyncReport> PushAsync(RunFolder folder, string experiment, CancellationToken ct)
    {
        var record = folder.ReadRecord() ?? throw new InvalidDataException($"{folder.PathOf(RunFolder.RecordFile)}: missing or unreadable");
        var previous = MlflowState.Read(folder);
        var state = new MlflowState { TrackingUri = client.Display, Experiment = experiment, ParentRunId = previous?.ParentRunId, Updated = _clock.GetUtcNow() };
        try
        {
            string experimentId = await client.GetOrCreateExperimentAsync(experiment, ct);
            state = state with { ExperimentId = experimentId };
            var (info, created) = await EnsureRunAsync(record, experimentId, previous?.ExperimentId == experimentId ? previous.RunId : null, ct, previous?.ParentRunId);
            state = state with { RunId = info.RunId };
            var (_, haveParams, haveTags) = await client.GetRunAsync(info.RunId, ct);

            string status = RunFolder.EffectiveStatus(record);
            // The record's tags, then what a person said of the run (a label names the run); tags removed locally go from the server too.
            var meta = MetaTags(folder);
            var desired = Tags(record, previous?.ParentRunId).Append(new("exprunner.status", status))
                .Where(t => !(t.Key == "mlflow.runName" && meta.Any(m => m.Key == "mlflow.runName"))).Concat(meta).ToList();
            var tags = desired.Where(t => !haveTags.TryGetValue(t.Key, out var v) || v != t.Value).ToList();
            var current = meta.First(t => t.Key == UserTagsTag).Value.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in (haveTags.GetValueOrDefault(UserTagsTag) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Where(k => !current.Contains(k)))
                await client.DeleteTagAsync(info.RunId, gone, ct);
            if (haveTags.ContainsKey("mlflow.note.content") && !meta.Any(m => m.Key == "mlflow.note.content"))
                await client.DeleteTagAsync(info.RunId, "mlflow.note.content", ct);
            if (haveTags.ContainsKey("exprunner.label") && !meta.Any(m => m.Key == "exprunner.label"))
            {
                await client.DeleteTagAsync(info.RunId, "exprunner.label", ct);
                tags.Add(new("mlflow.runName", record.Id));
            }
            var parameters = new List<KeyValuePair<string, string>>();
            foreach (var p in Params(folder))
            {
                if (!haveParams.TryGetValue(p.Key, out var v)) parameters.Add(p);
                else if (v != p.Value && !(v.EndsWith(MlflowClient.Truncated, StringComparison.Ordinal) && p.Value.StartsWith(v[..^MlflowClient.Truncated.Length], StringComparison.Ordinal)))
                    warn($"MLflow run {info.RunId} already has param {p.Key}={v}; the run folder says {p.Value} (left as it is)");
            }
            var mine = Metrics(folder);
            var metrics = new List<MlflowMetric>();
            foreach (var key in mine.Select(m => m.Key).Distinct())
            {
                var steps = (await client.GetMetricHistoryAsync(info.RunId, key, ct)).Select(m => m.Step).ToHashSet();
                metrics.AddRange(mine.Where(m => m.Key == key && !steps.Contains(m.Step)));
            }
            await client.LogBatchAsync(info.RunId, metrics, parameters, tags, ct);
            var (artifacts, proxied, final) = await FinishAsync(folder, record, info, ct);
            (state with { Complete = final is not null, Missing = final is null ? ["final status (the run has not ended)"] : proxied ? [] : ["artifacts (server does not proxy them)"] }).Write(folder);
            return new SyncReport(info.RunId, created, parameters.Count, metrics.Count, artifacts, proxied, final);
        }
        catch (Exception e) when (e is MlflowUnavailableException or MlflowException)
        {
            (state with { Complete = false, Error = e.Message, Missing = ["params, metrics, artifacts or status (run `exprunner mlflow push` to complete)"] }).Write(folder);
            throw;
        }
    }

    /// <summary>
    /// The end of a run's mirror: every file of the folder as an artifact, then the final status
    /// with the run's end time — or, for a run that died without recording it, the last moment it
    /// was seen writing (its last metric or log line).
    /// </summary>
    public async Task<(int Artifacts, bool Proxied, string? Final)> FinishAsync(RunFolder folder, RunRecord record, MlflowRunInfo info, CancellationToken ct)
    {
        int artifacts = 0;
        bool proxied = true;
        foreach (var file in Directory.GetFiles(folder.Dir).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(file);
            if (name == MlflowState.File || name.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            if (!await client.UploadArtifactAsync(info.ArtifactUri, name, await File.ReadAllBytesAsync(file, ct), ct))
            {
                proxied = false;
                if (!_warnedArtifacts)
                    warn($"MLflow at {client.Display} does not proxy artifacts (artifact_uri {info.ArtifactUri}); run files stay local only");
                _warnedArtifacts = true;
                break;
            }
            artifacts++;
        }
        string status = RunFolder.EffectiveStatus(record);
        if (status == RunStatus.Running) return (artifacts, proxied, null);
        string final = MlflowStatus(status);
        await client.UpdateRunAsync(info.RunId, final, (record.Ended ?? LastActivity(folder) ?? _clock.GetUtcNow()).ToUnixTimeMilliseconds(), ct);
        return (artifacts, proxied, final);
    }

    /// <summary>The last moment a run folder shows its run alive: its last metric row or system sample, or its log's last write.</summary>
    public static DateTimeOffset? LastActivity(RunFolder folder)
    {
        var times = new List<DateTimeOffset>();
        if (folder.ReadMetrics() is { Count: > 0 } rows) times.Add(DateTimeOffset.FromUnixTimeMilliseconds(rows.Max(r => r.TimestampMs)));
        if (folder.ReadSystem() is { Count: > 0 } samples) times.Add(samples.Max(s => s.At));
        if (File.Exists(folder.PathOf(RunFolder.LogFile))) times.Add(new DateTimeOffset(File.GetLastWriteTimeUtc(folder.PathOf(RunFolder.LogFile)), TimeSpan.Zero));
        return times.Count == 0 ? null : times.Max();
    }
}

using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.IO;
using ExpRunner.Nn;
using ExpRunner.Tracking;
using ExpRunner.Training;
using Serilog;

namespace ExpRunner;

public sealed record RunOptions
{
    public required string RunsRoot { get; init; }
    /// <summary>Where the run's log goes besides its own log.txt (the console, in the CLI).</summary>
    public ILogger? Console { get; init; }
    public Action<BatchProgress>? OnBatch { get; init; }
    public Action<EpochMetrics>? OnEpoch { get; init; }
    public Action<RunFolder>? OnStarted { get; init; }
    public CancellationToken Cancel { get; init; }
    public TimeProvider Clock { get; init; } = TimeProvider.System;
    public SweepRef? Sweep { get; init; }
    /// <summary>Where the config came from and its commit, when the file run is a copy of it (a sweep's).</summary>
    public string? SourceConfig { get; init; }
    public Provenance.GitState? Git { get; init; }
    /// <summary>The working tree's state being looked up already (started with the command); used when <see cref="Git"/> is not given.</summary>
    public Task<Provenance.GitState?>? GitLookup { get; init; }
    public SlurmRef? Slurm { get; init; }
    /// <summary>At most this many matrix threads (a sweep's share of the cores for this trial).</summary>
    public int? MaxThreads { get; init; }
    /// <summary>The widest vectors the products may use (0: the widest the CPU has); results do not depend on it.</summary>
    public int VectorBits { get; init; }
    /// <summary>Mirrors of the run (MLflow); best effort — a failing tracker never fails the run.</summary>
    public IReadOnlyList<TrackerFactory> Trackers { get; init; } = [];
    /// <summary>A sweep trial's successive halving: asked at each rung whether to go on.</summary>
    public Sweeps.TrialPruner? Pruner { get; init; }
    /// <summary>Instead of training: the learning-rate range test (`exprunner lr-find`).</summary>
    public RangeTestSpec? RangeTest { get; init; }
    /// <summary>The data, loaded already (trials trained together load it once).</summary>
    public DataSplits? Data { get; init; }
    /// <summary>The run's place in a group of trials trained together (<see cref="TrialGroup{T}"/> of the config's precision).</summary>
    public ITrialSeat? Seat { get; init; }
}

public sealed record RunResult(string Status, RunFolder Folder, RunSummary Summary, RunRecord Record)
{
    public int ExitCode => RunStatus.ExitCode(Status);
}

/// <summary>
/// The whole chain of one experiment, top to bottom: config → data → network → training →
/// run folder. Read this first; the trainer and the network are the next stops.
/// </summary>
public static class ExperimentRunner
{
    public static RunResult Run(LoadedConfig loaded, RunOptions options)
    {
        var config = loaded.Config;
        int threads = ThreadBudget.Effective(config.Training.Threads, options.MaxThreads);
        // 1. Data (before any folder exists: bad data leaves nothing behind).
        // With a core to spare: the numeric code compiles while the data loads, then what the end of the run writes.
        if (ThreadBudget.SpareCore(options.MaxThreads)) _ = Startup.Numeric(config.Precision == Precision.Float64).ContinueWith(_ => Startup.Curves(), TaskScheduler.Default);
        var data = options.Data ?? DatasetLoader.Load(config.Dataset, config.Seed);
        var widthErrors = new List<ConfigError>();
        ConfigLoader.CheckOutputWidth(config, data.Classes, (key, msg) => widthErrors.Add(new ConfigError(loaded.Locate(key), key, msg)));
        Footprint.Check(config, data.Features, data.Train.Count, Footprint.Available(), (key, msg) => widthErrors.Add(new ConfigError(loaded.Locate(key), key, msg)));
        if (widthErrors.Count > 0) throw new ConfigException(widthErrors);

        // 2. The run folder, its log and its mirrors, owned by one recorder.
        var git = options.Git ?? (options.GitLookup is { } lookup ? lookup.Result : Provenance.Git(Path.GetDirectoryName(Path.GetFullPath(loaded.File))!));
        var self = ProcessRef.Current();
        var record = new RunRecord
        {
            Id = "", Experiment = config.Name, Status = RunStatus.Running, Started = options.Clock.GetUtcNow(), Seed = config.Seed,
            ConfigFile = loaded.File, SourceConfig = options.SourceConfig, Overrides = loaded.Overrides, Precision = SnakeNames<Precision>.Of(config.Precision), Threads = threads,
            Dataset = data.Fingerprint, GitCommit = git?.Commit, GitDirty = git?.Dirty,
            Versions = Provenance.Versions(options.VectorBits), Host = self.Host, User = Environment.UserName, Pid = self.Pid, ProcessStart = self.Started, Sweep = options.Sweep, Slurm = options.Slurm,
            Kind = options.RangeTest is null ? null : RangeTestSpec.Kind, WorkingDirectory = Environment.CurrentDirectory,
        };
        string yaml = ConfigWriter.ToYaml(config, $"Resolved config of a run of {config.Name} (from {loaded.File}{string.Concat(loaded.Overrides.Select(o => " --set " + o))})");
        using var recorder = RunRecorder.Start(options.RunsRoot, config, record, yaml, options.Console, options.Trackers, options.Clock,
            options.RangeTest is null ? null : RangeTest.Columns);
        options.OnStarted?.Invoke(recorder.Folder);
        var log = recorder.Log;
        log.Information("Run {RunId} of {Experiment} started in {Folder}", recorder.Folder.Id, config.Name, recorder.Folder.Dir);
        log.Information("Data {Dataset} from {Source}: {Train} train, {Validation} validation, {Test} test examples",
            data.Fingerprint.Name, data.Fingerprint.Source, data.Fingerprint.TrainCount, data.Fingerprint.ValidationCount, data.Fingerprint.TestCount);

        // 3. Network and training, in the configured precision; 4. the end.
        return TrainAndEnd(config, data, threads, recorder, options, resume: false);
    }

    /// <summary>
    /// Continues a run that was interrupted (KILLED), crashed (CRASHED) or failed (FAILED, e.g. a full
    /// disk) from the checkpoint of its last whole epoch, in the same folder: its resolved config,
    /// the same data (checked by SHA-256), the weights, optimizer state, shuffle generator and order,
    /// so that it ends bit for bit where an uninterrupted run would have.
    /// The folder is claimed first (a second resume, or the run still training, is refused naming its
    /// holder), then everything the resume relies on is checked before anything changes — the config
    /// against the hash recorded when the run started, the data, the checkpoint against the network
    /// the config describes, the metrics it continues — so a refused resume leaves the folder byte for
    /// byte as it was. A resume that fails later puts the folder back as it was before it (FAILED).
    /// </summary>
    public static RunResult Resume(RunFolder folder, RunOptions options)
    {
        var claim = RunLock.Claim(folder.Dir, folder.Id);
        bool handedOver = false;
        try
        {
            var (record, fromEpoch, kept, loaded, data) = CheckResume(folder, options);
            var config = loaded.Config;
            int threads = ThreadBudget.Effective(config.Training.Threads, options.MaxThreads);
            // From here the folder changes: what the resume replaces is kept until it ends.
            var backup = ResumeBackup.Take(folder);
            RunRecorder recorder;
            string? pending = Safetensors.ReadHeader(folder.PathOf(RunFolder.CheckpointFile)).Metadata.GetValueOrDefault(Checkpoint<float>.PendingStepsKey);
            try { recorder = RunRecorder.Resume(folder, record, fromEpoch, kept, config, pending, options.Console, options.Clock, claim); }
            catch { backup.Restore(); throw; }
            handedOver = true;
            using (recorder)
            {
                options.OnStarted?.Invoke(recorder.Folder);
                recorder.Log.Information("Run {RunId} resumed after epoch {Epoch} ({Status} before)", folder.Id, fromEpoch, RunFolder.EffectiveStatus(record));
                return TrainAndEnd(config, data, threads, recorder, options, resume: true, backup);
            }
        }
        finally
        {
            if (!handedOver) claim.Dispose();
        }
    }

    /// <summary>Everything a resume relies on, checked before the folder changes; any disagreement is bad input naming it.</summary>
    private static (RunRecord Record, int FromEpoch, List<MetricRow> Kept, LoadedConfig Loaded, DataSplits Data) CheckResume(RunFolder folder, RunOptions options)
    {
        var record = folder.ReadRecord() ?? throw new InvalidDataException($"{folder.Dir}: no run.json");
        string status = RunFolder.EffectiveStatus(record);
        if (status == RunStatus.Running)
            throw new RunBusyException($"run {folder.Id} is still running (pid {record.Pid} on {record.Host}); wait for it to end, or stop it first");
        if (record.Kind == RangeTestSpec.Kind)
            throw new InvalidDataException($"{folder.Id} is a learning-rate range test: it is not resumed; run exprunner lr-find again");
        if (status is not (RunStatus.Killed or RunStatus.Crashed or RunStatus.Failed))
            throw new InvalidDataException($"{folder.Id} ended {status}: there is nothing to resume");
        string checkpoint = folder.PathOf(RunFolder.CheckpointFile);
        if (!File.Exists(checkpoint))
            throw new InvalidDataException($"{folder.Id} has no checkpoint (it stopped before its first epoch ended): start it again with exprunner run");
        var header = Safetensors.ReadHeader(checkpoint);
        int fromEpoch = header.Metadata.TryGetValue("epoch", out var e) && int.TryParse(e, System.Globalization.CultureInfo.InvariantCulture, out int k) && k > 0 ? k
            : throw new InvalidDataException($"{checkpoint}: not a checkpoint");

        string configFile = folder.PathOf(RunFolder.ConfigFile);
        if (record.ConfigSha256 is { } recorded
            && Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BoundedFile.ReadBytes(configFile, YamlTree.MaxBytes))) != recorded)
            throw new InvalidDataException($"{configFile} was edited after the run started (its SHA-256 differs from the one in run.json): " +
                "resuming would continue as another experiment than the one it began; put the file back, or start a new run with the edited config");
        var loaded = ConfigLoader.Load(configFile);
        var config = loaded.Config;
        if (ThreadBudget.SpareCore(options.MaxThreads)) _ = Startup.Numeric(config.Precision == Precision.Float64);
        var data = options.Data ?? DatasetLoader.Load(config.Dataset, config.Seed);
        var changed = (record.Dataset?.Sha256 ?? new Dictionary<string, string>()).Where(r => data.Fingerprint.Sha256.TryGetValue(r.Key, out var now) && now != r.Value).Select(r => r.Key).ToList();
        if (changed.Count > 0) throw new InvalidDataException($"the data changed since {folder.Id} trained ({string.Join(", ", changed)}): resuming would not continue the same run");

        var disagree = ModelBuilder.Disagreements(config, data.Features, header.Metadata);
        if (disagree.Count > 0)
            throw new InvalidDataException($"{configFile} does not describe the network of {checkpoint}: {string.Join("; ", disagree)} (was the config edited after training?)");
        // The checkpoint read whole into a network and optimizer of the config's shape, as training will read it.
        if (config.Precision == Precision.Float64) CheckCheckpoint<double>(checkpoint, config, data);
        else CheckCheckpoint<float>(checkpoint, config, data);

        var kept = folder.ReadMetrics().Where(m => m.Epoch <= fromEpoch).ToList();
        var missing = Enumerable.Range(1, fromEpoch).Except(kept.Select(m => m.Epoch)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{folder.PathOf(RunFolder.MetricsFile)}: has no metrics for epoch{(missing.Count == 1 ? "" : "s")} " +
                $"{string.Join(", ", missing.Take(5))} of the {fromEpoch} the checkpoint continues after");
        return (record, fromEpoch, kept, loaded, data);
    }

    private static void CheckCheckpoint<T>(string path, ExperimentConfig config, DataSplits data) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = ModelBuilder.Build<T>(config.Model, data.Features, 1, config.Seed);
        Checkpoint<T>.Read(path, net, Optimizer<T>.Create(config.Training, net), data.Train.Count);
    }

    private static RunResult TrainAndEnd(ExperimentConfig config, DataSplits data, int threads, RunRecorder recorder, RunOptions options, bool resume,
        ResumeBackup? backup = null)
    {
        var log = recorder.Log;
        TrainingOutcome outcome;
        string? failure = null;
        try
        {
            outcome = config.Precision == Precision.Float64
                ? Train<double>(config, data, threads, recorder, options, resume)
                : Train<float>(config, data, threads, recorder, options, resume);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.Error(e, "Run failed");
            failure = $"{e.GetType().Name}: {e.Message}";
            outcome = new TrainingOutcome(TrainingEnd.Finished, recorder.History.Count, recorder.History.LastOrDefault()?.Step ?? 0, failure);
        }

        // 4. The end: status, summary, curves, final record. A run that ended as it should needs no checkpoint.
        string status = failure is not null ? RunStatus.Failed : outcome.End switch
        {
            TrainingEnd.Diverged => RunStatus.Diverged,
            TrainingEnd.Cancelled => RunStatus.Killed,
            TrainingEnd.Pruned => RunStatus.Pruned,
            _ => RunStatus.Finished,
        };
        if (status == RunStatus.Diverged)
            try { options.Pruner?.Diverged(outcome.EpochsCompleted + 1, config.Training.Epochs); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException) { log.Warning("Could not record the divergence in the sweep's rungs: {Error}", e.Message); }
        var summary = recorder.End(config, status, failure ?? outcome.Reason, outcome, Plots.LearningCurves.ForRun, options.RangeTest is null ? Plots.LearningCurves.Steps : null);
        // A resume that failed leaves the folder as it was before it, never weights of one state beside a summary of another.
        if (backup is not null)
        {
            if (summary.Status == RunStatus.Failed) summary = recorder.UndoResume(backup, summary);
            else backup.Discard();
        }
        if (summary.Status is RunStatus.Finished or RunStatus.Diverged or RunStatus.Pruned)
            try { File.Delete(recorder.Folder.PathOf(RunFolder.CheckpointFile)); } catch (Exception x) when (x is IOException or UnauthorizedAccessException) { }
        return new RunResult(summary.Status, recorder.Folder, summary, recorder.Record);
    }

    private static TrainingOutcome Train<T>(ExperimentConfig config, DataSplits data, int threads, RunRecorder recorder, RunOptions options, bool resume)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Buffers for the largest batch that can occur (never more rows than the training set) or an evaluation batch.
        int capacity = Math.Max(Math.Min(config.Training.BatchSize, data.Train.Count), SavedModel.EvalBatch(threads));
        var net = ModelBuilder.Build<T>(config.Model, data.Features, capacity, config.Seed);
        var seat = options.Seat as TrialGroup<T>.Seat;
        if (options.Seat is not null && seat is null) throw new InvalidOperationException("a run trains in a group of its own precision");
        // In a group the first layer's products are the group's, on its threads; the rest of each trial's work runs on the trial's own thread.
        net.Threads = seat is null ? threads : 1;
        net.VectorBits = options.VectorBits;
        var meta = ModelBuilder.Metadata(net, config, recorder.Folder.Id);
        if (!resume) Safetensors.Write(recorder.Folder.PathOf(RunFolder.InitWeightsFile), ModelBuilder.ToTensors(net), meta);
        recorder.Log.Information("Network {Inputs}-{Units} ({Activations}), {Parameters} parameters, loss {Loss}, {Precision}",
            net.Inputs, string.Join("-", net.Layers.Select(l => l.Out)), string.Join(",", net.Layers.Select(l => l.Activation.Name)),
            net.ParameterCount, SnakeNames<LossKind>.Of(config.Loss), SnakeNames<Precision>.Of(config.Precision));
        var t = config.Training;
        recorder.Log.Information("{Optimizer} lr {LearningRate}{Schedule}, batch {BatchSize}, gradients {Reduction}, {Settings}, {Epochs} epochs, shuffle {Shuffle}{EarlyStopping}",
            Describe.Optimizer(t), t.LearningRate, Describe.Schedule(t), t.BatchSize, t.GradientReduction.ToString(), Describe.Settings(t), t.Epochs, t.Shuffle ? "true" : "false",
            t.EarlyStopping is { } e ? $", early stopping on {e.Metric} (patience {e.Patience}, min delta {e.MinDelta.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(e.RestoreBest ? ", best weights kept" : "")})" : "");

        if (seat is not null)
            recorder.Log.Information("Trains together with {Others} other trial(s) of its sweep in this process: each batch read once, the first layer's products made as one (results as alone)",
                seat.Group.Seats.Count - 1);
        var optimizer = Optimizer<T>.Create(t, net);
        if (options.RangeTest is { } range)
        {
            try { return RangeTest.Run(net, Loss<T>.Create(SnakeNames<LossKind>.Of(config.Loss)), optimizer, config, data, range, recorder, options.Cancel); }
            finally { Safetensors.Write(recorder.Folder.PathOf(RunFolder.WeightsFile), ModelBuilder.ToTensors(net), meta); }
        }
        var trainer = new Trainer<T>(net, Loss<T>.Create(SnakeNames<LossKind>.Of(config.Loss)), optimizer, t, new Rng(Rng.Derive(config.Seed, "shuffle")), options.Clock);
        Func<EpochMetrics, string?>? prune = null;
        if (options.Pruner is { } pruner)
        {
            pruner.RunId = recorder.Folder.Id;
            prune = m => pruner.After(m.Epoch, t.Epochs, Sweeps.TrialPruner.Value(pruner.Spec.Metric, m));
            recorder.Log.Information("Pruning: {Metric} ({Mode}) at epochs {Rungs}, the best 1/{Factor} of each rung go on",
                pruner.Spec.Metric, pruner.Spec.Mode, string.Join(", ", pruner.Spec.Rungs(t.Epochs)), pruner.Spec.ReductionFactor);
        }
        try
        {
            string checksums = recorder.Folder.PathOf(WeightChecksums.File);
            return trainer.Train(data, m =>
            {
                WeightChecksums.Append(checksums, m.Epoch, [.. net.Layers.Select(l => (WeightChecksums.Of<T>(l.W), WeightChecksums.Of<T>(l.B)))]);
                recorder.Epoch(m);
                options.OnEpoch?.Invoke(m);
            }, options.OnBatch, options.Cancel, new Checkpointing(recorder.Folder.PathOf(RunFolder.CheckpointFile), meta, resume, () => recorder.Steps.Pending), prune, recorder.Steps,
                config.Probes is { } probes ? new Probes<T>(net, optimizer, probes) : null, seat);
        }
        finally
        {
            Safetensors.Write(recorder.Folder.PathOf(RunFolder.WeightsFile), ModelBuilder.ToTensors(net), meta);
        }
    }
}

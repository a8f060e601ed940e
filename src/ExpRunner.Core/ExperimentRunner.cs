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
    public SlurmRef? Slurm { get; init; }
    /// <summary>At most this many matrix threads (a sweep's share of the cores for this trial).</summary>
    public int? MaxThreads { get; init; }
    /// <summary>Mirrors of the run (MLflow); best effort — a failing tracker never fails the run.</summary>
    public IReadOnlyList<TrackerFactory> Trackers { get; init; } = [];
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
        if (ThreadBudget.SpareCore(options.MaxThreads)) Precompile.Start(config.Precision); // compiles the numeric code while the data loads
        var data = DatasetLoader.Load(config.Dataset, config.Seed);
        var widthErrors = new List<ConfigError>();
        ConfigLoader.CheckOutputWidth(config, data.Classes, (key, msg) => widthErrors.Add(new ConfigError(loaded.Locate(key), key, msg)));
        Footprint.Check(config, data.Features, data.Train.Count, Footprint.Available(), (key, msg) => widthErrors.Add(new ConfigError(loaded.Locate(key), key, msg)));
        if (widthErrors.Count > 0) throw new ConfigException(widthErrors);

        // 2. The run folder, its log and its mirrors, owned by one recorder.
        var git = options.Git ?? Provenance.Git(Path.GetDirectoryName(Path.GetFullPath(loaded.File))!);
        var self = ProcessRef.Current();
        var record = new RunRecord
        {
            Id = "", Experiment = config.Name, Status = RunStatus.Running, Started = options.Clock.GetUtcNow(), Seed = config.Seed,
            ConfigFile = loaded.File, SourceConfig = options.SourceConfig, Overrides = loaded.Overrides, Precision = config.Precision, Threads = threads,
            Dataset = data.Fingerprint, GitCommit = git?.Commit, GitDirty = git?.Dirty,
            Versions = Provenance.Versions(), Host = self.Host, User = Environment.UserName, Pid = self.Pid, ProcessStart = self.Started, Sweep = options.Sweep, Slurm = options.Slurm,
        };
        string yaml = ConfigWriter.ToYaml(config, $"Resolved config of a run of {config.Name} (from {loaded.File}{string.Concat(loaded.Overrides.Select(o => " --set " + o))})");
        using var recorder = RunRecorder.Start(options.RunsRoot, config, record, yaml, options.Console, options.Trackers, options.Clock);
        options.OnStarted?.Invoke(recorder.Folder);
        var log = recorder.Log;
        log.Information("Run {RunId} of {Experiment} started in {Folder}", recorder.Folder.Id, config.Name, recorder.Folder.Dir);
        log.Information("Data {Dataset} from {Source}: {Train} train, {Validation} validation, {Test} test examples",
            data.Fingerprint.Name, data.Fingerprint.Source, data.Fingerprint.TrainCount, data.Fingerprint.ValidationCount, data.Fingerprint.TestCount);

        // 3. Network and training, in the configured precision.
        TrainingOutcome outcome;
        string? failure = null;
        try
        {
            outcome = config.Precision == "float64"
                ? Train<double>(config, data, threads, recorder, options)
                : Train<float>(config, data, threads, recorder, options);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.Error(e, "Run failed");
            failure = $"{e.GetType().Name}: {e.Message}";
            outcome = new TrainingOutcome(TrainingEnd.Finished, recorder.History.Count, recorder.History.LastOrDefault()?.Step ?? 0, failure);
        }

        // 4. The end: status, summary, curves, final record.
        string status = failure is not null ? RunStatus.Failed : outcome.End switch
        {
            TrainingEnd.Diverged => RunStatus.Diverged,
            TrainingEnd.Cancelled => RunStatus.Killed,
            _ => RunStatus.Finished,
        };
        var summary = recorder.End(config, status, failure ?? outcome.Reason, outcome, Plots.LearningCurves.ForRun);
        return new RunResult(status, recorder.Folder, summary, recorder.Record);
    }

    private static TrainingOutcome Train<T>(ExperimentConfig config, DataSplits data, int threads, RunRecorder recorder, RunOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Buffers for the largest batch that can occur (never more rows than the training set) or an evaluation batch.
        int capacity = Math.Max(Math.Min(config.Training.BatchSize, data.Train.Count), SavedModel.EvalBatch(threads));
        var net = ModelBuilder.Build<T>(config.Model, data.Features, capacity, config.Seed);
        net.Threads = threads;
        var meta = ModelBuilder.Metadata(net, config, recorder.Folder.Id);
        Safetensors.Write(recorder.Folder.PathOf(RunFolder.InitWeightsFile), ModelBuilder.ToTensors(net), meta);
        recorder.Log.Information("Network {Inputs}-{Units} ({Activations}), {Parameters} parameters, loss {Loss}, {Precision}",
            net.Inputs, string.Join("-", net.Layers.Select(l => l.Out)), string.Join(",", net.Layers.Select(l => l.Activation.Name)),
            net.ParameterCount, config.Loss, config.Precision);
        var t = config.Training;
        recorder.Log.Information("{Optimizer} lr {LearningRate}{Schedule}, batch {BatchSize}, gradients {Reduction}, {Settings}, {Epochs} epochs, shuffle {Shuffle}{EarlyStopping}",
            Describe.Optimizer(t), t.LearningRate, Describe.Schedule(t), t.BatchSize, t.GradientReduction.ToString(), Describe.Settings(t), t.Epochs, t.Shuffle ? "true" : "false",
            t.EarlyStopping is { } e ? $", early stopping on {e.Metric} (patience {e.Patience}, min delta {e.MinDelta.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(e.RestoreBest ? ", best weights kept" : "")})" : "");

        var trainer = new Trainer<T>(net, Loss<T>.Create(config.Loss), Optimizer<T>.Create(t, net), t, new Rng(Rng.Derive(config.Seed, "shuffle")), options.Clock);
        try
        {
            return trainer.Train(data, m =>
            {
                recorder.Epoch(m);
                options.OnEpoch?.Invoke(m);
            }, options.OnBatch, options.Cancel);
        }
        finally
        {
            Safetensors.Write(recorder.Folder.PathOf(RunFolder.WeightsFile), ModelBuilder.ToTensors(net), meta);
        }
    }
}

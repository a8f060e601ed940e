using System.Globalization;
using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Data;
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
    public Func<DateTimeOffset> Clock { get; init; } = () => DateTimeOffset.UtcNow;
    public SweepRef? Sweep { get; init; }
    /// <summary>Mirrors of the run (MLflow); best effort — a failing tracker never fails the run.</summary>
    public IReadOnlyList<IRunTracker> Trackers { get; init; } = [];
}

public sealed record RunResult(string Status, RunFolder Folder, RunSummary Summary)
{
    /// <summary>0 only for a finished run.</summary>
    public int ExitCode => Status switch
    {
        RunStatus.Finished => 0,
        RunStatus.Diverged => 3,
        RunStatus.Killed => 130,
        _ => 1,
    };
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
        // 1. Data (before any folder exists: bad data leaves nothing behind).
        if (Sweeps.ThreadBudget.SpareCore) Nn.Precompile.Start(config.Precision); // compiles the numeric code while the data loads
        var data = DatasetLoader.Load(config.Dataset, config.Seed);
        var widthErrors = new List<ConfigError>();
        ConfigLoader.CheckOutputWidth(config, data.Classes, (key, msg) => widthErrors.Add(new ConfigError(loaded.Locate(key), key, msg)));
        if (widthErrors.Count > 0) throw new ConfigException(widthErrors);

        // 2. The run folder: resolved config and a RUNNING record.
        var started = options.Clock();
        var folder = RunFolder.Create(options.RunsRoot, config.Name, started);
        options.OnStarted?.Invoke(folder);
        var record = new RunRecord
        {
            Id = folder.Id, Experiment = config.Name, Status = RunStatus.Running, Started = started, Seed = config.Seed,
            ConfigFile = loaded.File, Overrides = loaded.Overrides, Precision = config.Precision, Threads = Sweeps.ThreadBudget.Effective(config.Training.Threads),
            Dataset = data.Fingerprint, GitCommit = Provenance.GitCommit(Path.GetDirectoryName(Path.GetFullPath(loaded.File))!),
            Versions = Provenance.Versions(), Host = Environment.MachineName, Pid = Environment.ProcessId, ProcessStart = Provenance.ProcessStart(),
            Sweep = options.Sweep, Slurm = SlurmRef.FromEnvironment(),
        };
        folder.WriteRecord(record);
        folder.WriteConfig(ConfigWriter.ToYaml(config, $"Resolved config of run {folder.Id} (from {loaded.File}{string.Concat(loaded.Overrides.Select(o => " --set " + o))})"));
        folder.StartMetrics();

        using var log = RunLog(folder, options.Console);
        void Track(RunEvent e)
        {
            foreach (var t in options.Trackers)
            {
                try { t.Handle(e); }
                catch (Exception ex) when (ex is not OutOfMemoryException) { log.Warning(ex, "Tracker {Tracker} failed", t.GetType().Name); }
            }
        }
        Track(new RunStarted(folder, config, record, log));
        log.Information("Run {RunId} of {Experiment} started in {Folder}", folder.Id, config.Name, folder.Dir);
        log.Information("Data {Dataset} from {Source}: {Train} train, {Validation} validation, {Test} test examples",
            data.Fingerprint.Name, data.Fingerprint.Source, data.Fingerprint.TrainCount, data.Fingerprint.ValidationCount, data.Fingerprint.TestCount);

        // 3. Network and training, in the configured precision.
        var history = new List<EpochMetrics>();
        TrainingOutcome outcome;
        string? failure = null;
        try
        {
            outcome = config.Precision == "float64"
                ? Train<double>(config, data, folder, history, log, options, Track)
                : Train<float>(config, data, folder, history, log, options, Track);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.Error(e, "Run failed");
            failure = $"{e.GetType().Name}: {e.Message}";
            outcome = new TrainingOutcome(TrainingEnd.Finished, history.Count, history.LastOrDefault()?.Step ?? 0, failure);
        }

        // 4. The end: status, summary, final record.
        string status = failure is not null ? RunStatus.Failed : outcome.End switch
        {
            TrainingEnd.Diverged => RunStatus.Diverged,
            TrainingEnd.Cancelled => RunStatus.Killed,
            _ => RunStatus.Finished,
        };
        var ended = options.Clock();
        var summary = Summaries.Build(folder.Id, config, status, outcome, history, (ended - started).TotalSeconds);
        folder.WriteSummary(summary);
        if (history.Count > 0)
            Atomic.WriteText(folder.PathOf(RunFolder.CurvesFile), Plots.LearningCurves.ForRun($"{config.Name} {folder.Id} ({status})", folder.ReadMetrics()));
        var result = new RunResult(status, folder, summary);
        var final = record with { Status = status, Reason = failure ?? outcome.Reason, Ended = ended, DurationSeconds = summary.DurationSeconds, ExitCode = result.ExitCode };
        folder.WriteRecord(final);
        log.Information("Run {RunId} {Status} after {Epochs} epochs, {Seconds:0.0} s{Reason}", folder.Id, status, outcome.EpochsCompleted,
            summary.DurationSeconds, (failure ?? outcome.Reason) is { } why ? ": " + why : "");
        Track(new RunEnded(final, summary));
        foreach (var t in options.Trackers.OfType<IDisposable>()) t.Dispose(); // flush mirrors (bounded wait)
        return result;
    }

    private static TrainingOutcome Train<T>(ExperimentConfig config, DataSplits data, RunFolder folder, List<EpochMetrics> history, ILogger log, RunOptions options,
        Action<RunEvent> track)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int threads = Sweeps.ThreadBudget.Effective(config.Training.Threads);
        var net = ModelBuilder.Build<T>(config.Model, data.Features, Math.Max(config.Training.BatchSize, SavedModel.EvalBatch(threads)), config.Seed);
        net.Threads = threads;
        var meta = ModelBuilder.Metadata(net, config, folder.Id);
        Safetensors.Write(folder.PathOf(RunFolder.InitWeightsFile), ModelBuilder.ToTensors(net), meta);
        log.Information("Network {Inputs}-{Units} ({Activations}), {Parameters} parameters, loss {Loss}, {Precision}",
            net.Inputs, string.Join("-", net.Layers.Select(l => l.Out)), string.Join(",", net.Layers.Select(l => l.Activation.Name)),
            net.ParameterCount, config.Loss, config.Precision);
        var t = config.Training;
        log.Information("SGD lr {LearningRate}, batch {BatchSize}, gradients {Reduction}, momentum {Momentum}, weight decay {WeightDecay}, {Epochs} epochs, shuffle {Shuffle}",
            t.LearningRate, t.BatchSize, t.GradientReduction.ToString(), t.Momentum, t.WeightDecay, t.Epochs, t.Shuffle);

        var trainer = new Trainer<T>(net, Loss<T>.Create(config.Loss), new Sgd<T>(t, net), t, new Rng(Rng.Derive(config.Seed, "shuffle")));
        try
        {
            return trainer.Train(data, m =>
            {
                history.Add(m);
                folder.AppendMetrics(m);
                log.Debug("Epoch {Epoch}: {Metrics}", m.Epoch, string.Join(", ", m.Splits.Select(s =>
                    string.Create(CultureInfo.InvariantCulture, $"{s.Split} loss {s.Loss:0.######} acc {s.Accuracy:0.####}"))));
                options.OnEpoch?.Invoke(m);
                track(new EpochEnded(m));
            }, options.OnBatch, options.Cancel);
        }
        finally
        {
            Safetensors.Write(folder.PathOf(RunFolder.WeightsFile), ModelBuilder.ToTensors(net), meta);
        }
    }

    private static Serilog.Core.Logger RunLog(RunFolder folder, ILogger? console)
    {
        var cfg = new LoggerConfiguration().MinimumLevel.Debug()
            .WriteTo.File(folder.PathOf(RunFolder.LogFile), formatProvider: CultureInfo.InvariantCulture,
                outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} [{Level:u3}] {Message:lj}{NewLine}{Exception}");
        if (console is not null) cfg = cfg.WriteTo.Logger(console);
        return cfg.CreateLogger();
    }
}

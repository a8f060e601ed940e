using System.Globalization;
using ExpRunner.Config;
using ExpRunner.IO;
using ExpRunner.Training;
using Serilog;

namespace ExpRunner.Tracking;

/// <summary>A run could not start: its folder cannot be created or written (exit 2; nothing is left behind).</summary>
public sealed class RunStartException(string message) : Exception(message);

/// <summary>
/// The one owner of a run's side effects: its folder (record, resolved config, metrics, summary,
/// curves), its log (log.txt, and the console when given), and the trackers mirroring it, which
/// it creates, feeds through a fan-out that survives a failing tracker, and disposes.
/// </summary>
public sealed class RunRecorder : IDisposable
{
    public RunFolder Folder { get; }
    public RunRecord Record { get; private set; }
    public ILogger Log => _log;
    public IReadOnlyList<EpochMetrics> History => _history;
    /// <summary>The per-step record (steps.csv.gz), the trainer's step observer.</summary>
    public StepLog Steps { get; }

    private readonly Serilog.Core.Logger _log;
    private readonly SafeTrackers _trackers;
    private readonly TimeProvider _clock;
    private readonly List<EpochMetrics> _history = [];
    private readonly SystemMonitor _system;
    private readonly ITimer _sampler;
    private readonly Lock _sampling = new();
    private readonly RunLock _claim;

    /// <summary>How often the machine is sampled while a run trains (and once more at its end).</summary>
    public static readonly TimeSpan SystemInterval = TimeSpan.FromSeconds(5);

    private RunRecorder(RunFolder folder, RunRecord record, Serilog.Core.Logger log, SafeTrackers trackers, TimeProvider clock, RunLock claim, StepLog steps)
    {
        Folder = folder; Record = record; _log = log; _trackers = trackers; _clock = clock; _claim = claim; Steps = steps;
        _system = new SystemMonitor(folder.Dir);
        _sampler = clock.CreateTimer(_ => SampleSystem(), null, SystemInterval, SystemInterval);
    }

    /// <summary>system.csv gets a row and the trackers a SystemSampled event; a sample that cannot be written is skipped.</summary>
    private void SampleSystem()
    {
        lock (_sampling)
        {
            var sample = _system.Sample(_clock.GetUtcNow());
            try { Folder.AppendSystem(sample); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
            _trackers.Publish(new SystemSampled(sample));
        }
    }

    /// <summary>SHA-256 of a run's resolved config as written (what <see cref="RunRecord.ConfigSha256"/> holds).</summary>
    public static string ConfigHash(string yaml) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(yaml)));

    /// <summary>Claims a new run folder, writes its RUNNING record and resolved config, opens its log and starts the trackers.</summary>
    public static RunRecorder Start(string runsRoot, ExperimentConfig config, RunRecord record, string resolvedYaml, ILogger? console,
        IReadOnlyList<TrackerFactory> trackers, TimeProvider clock, IReadOnlyList<string>? stepColumns = null)
    {
        RunFolder folder;
        try { folder = RunFolder.Create(runsRoot, config.Name, record.Started); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunStartException($"cannot create a run folder under '{Path.GetFullPath(runsRoot)}': {e.Message}");
        }
        record = record with { Id = folder.Id, Experiment = config.Name, Status = RunStatus.Running, ConfigSha256 = ConfigHash(resolvedYaml) };
        var claim = RunLock.Claim(folder.Dir, folder.Id); // a new folder: nobody else can hold it
        try
        {
            folder.WriteRecord(record);
            folder.WriteConfig(resolvedYaml);
            folder.StartMetrics();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing has run: leave nothing behind (not even an empty run.json).
            claim.Dispose();
            try { Directory.Delete(folder.Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw new RunStartException($"cannot write the run folder {folder.Dir}: {e.Message}");
        }
        var log = FileLog(folder, console);
        var recorder = new RunRecorder(folder, record, log, new SafeTrackers(trackers, log), clock, claim,
            new StepLog(folder.PathOf(StepLog.File), config.Tracking.EverySteps, stepColumns ?? Training.ProbeLayout.Of(config), config.Precision == Precision.Float32));
        recorder._trackers.Publish(new RunStarted(folder, config, record));
        return recorder;
    }

    /// <summary>The run's log.txt (appended to), and the console's logger when there is one.</summary>
    private static Serilog.Core.Logger FileLog(RunFolder folder, ILogger? console)
    {
        var cfg = new LoggerConfiguration().MinimumLevel.Debug()
            .WriteTo.File(folder.PathOf(RunFolder.LogFile), formatProvider: CultureInfo.InvariantCulture,
                outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} [{Level:u3}] {Message:lj}{NewLine}{Exception}");
        if (console is not null) cfg = cfg.WriteTo.Logger(console);
        return cfg.CreateLogger();
    }

    /// <summary>
    /// Reopens a run folder to continue it from the checkpoint of epoch <paramref name="fromEpoch"/>:
    /// metrics.csv keeps that epoch and those before it (what came after is trained again), the
    /// record is RUNNING again in this process and lists the resumption, the log continues.
    /// <paramref name="claim"/>, the folder's claim taken before it was checked, is held until the end.
    /// </summary>
    public static RunRecorder Resume(RunFolder folder, RunRecord record, int fromEpoch, IReadOnlyList<MetricRow> kept, ExperimentConfig config, string? pendingSteps,
        ILogger? console, TimeProvider clock, RunLock claim)
    {
        var self = ProcessRef.Current();
        var now = clock.GetUtcNow();
        record = record with
        {
            Status = RunStatus.Running, Reason = null, Ended = null, DurationSeconds = null, ExitCode = null,
            Host = self.Host, Pid = self.Pid, ProcessStart = self.Started, User = Environment.UserName,
            Resumptions = [.. record.Resumptions, new Resumption(now, fromEpoch, self.Host, self.Pid)],
        };
        try
        {
            Atomic.WriteText(folder.PathOf(RunFolder.MetricsFile), RunFolder.MetricsHeader + "\n" + string.Concat(kept.Select(RunFolder.MetricsLine)));
            WeightChecksums.Keep(folder.PathOf(WeightChecksums.File), fromEpoch);
            folder.WriteRecord(record);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunStartException($"cannot write the run folder {folder.Dir}: {e.Message}");
        }
        var log = FileLog(folder, console);
        var recorder = new RunRecorder(folder, record, log, new SafeTrackers([], log), clock, claim,
            StepLog.Resume(folder.PathOf(StepLog.File), config.Tracking.EverySteps, fromEpoch, pendingSteps, Training.ProbeLayout.Of(config), config.Precision == Precision.Float32));
        foreach (var epoch in kept.GroupBy(m => m.Epoch).OrderBy(g => g.Key))
        {
            var rows = epoch.ToList();
            recorder._history.Add(new EpochMetrics(epoch.Key, rows[0].Step, rows[0].LearningRate, rows[0].Seconds,
                rows.Select(r => new SplitMetrics(r.Split, r.Loss, r.Accuracy)).ToList()) { Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(rows[0].TimestampMs) });
        }
        return recorder;
    }

    /// <summary>Final metrics and parameters a run adds to its summary besides its epochs' (a range test's suggestions and settings).</summary>
    public Dictionary<string, double> ExtraFinal { get; } = [];
    public Dictionary<string, string> ExtraParams { get; } = [];

    private readonly System.Diagnostics.Stopwatch _sinceLogged = System.Diagnostics.Stopwatch.StartNew();
    private EpochMetrics? _unlogged;

    private void LogEpoch(EpochMetrics m)
    {
        _log.Debug("Epoch {Epoch}: {Metrics}", m.Epoch, string.Join(", ", m.Splits.Select(s =>
            string.Create(CultureInfo.InvariantCulture, $"{s.Split} loss {s.Loss:0.######} acc {s.Accuracy:0.####}"))));
        _sinceLogged.Restart();
        _unlogged = null;
    }

    public void Epoch(EpochMetrics m)
    {
        _history.Add(m);
        if (Steps.Flush(force: false) is { Count: > 0 } steps) _trackers.Publish(new StepsRecorded(steps, m.Timestamp, Steps.ProbeColumns, Steps.Singles));
        Folder.AppendMetrics(m);
        // log.txt at a sane cadence: the first three epochs, then at most one line a second, and the last (at the end).
        if (m.Epoch <= 3 || _sinceLogged.ElapsedMilliseconds >= 1000) LogEpoch(m);
        else _unlogged = m;
        _trackers.Publish(new EpochEnded(m));
    }

    /// <summary>
    /// The end of the run: summary, learning curves (drawn by <paramref name="curves"/> from the
    /// metrics written), then the final record, which is written last: a record that says how the
    /// run ended means the folder is complete.
    /// </summary>
    public RunSummary End(ExperimentConfig config, string status, string? reason, TrainingOutcome outcome,
        Func<string, IReadOnlyList<MetricRow>, string>? curves, Func<string, IReadOnlyList<StepMetrics>, string>? stepCurves = null)
    {
        _sampler.Dispose();
        SampleSystem();
        if (_unlogged is { } lastEpoch) LogEpoch(lastEpoch);
        var ended = _clock.GetUtcNow();
        var summary = Summaries.Build(Folder.Id, config, status, outcome, _history, (ended - Record.Started).TotalSeconds) with { Data = Record.Dataset };
        if (ExtraFinal.Count > 0 || ExtraParams.Count > 0)
            summary = summary with
            {
                Final = summary.Final.Concat(ExtraFinal).ToDictionary(kv => kv.Key, kv => kv.Value),
                Params = summary.Params.Concat(ExtraParams).ToDictionary(kv => kv.Key, kv => kv.Value),
            };
        // Whatever can still be written is: a file that cannot be (a full disk, a folder made
        // read-only) fails the run with the reason, and the record is written last regardless.
        try
        {
            // Every step, an epoch cut short (a divergence, an interruption) included.
            if (Steps.Flush(force: true) is { Count: > 0 } last) _trackers.Publish(new StepsRecorded(last, ended, Steps.ProbeColumns, Steps.Singles));
            Folder.WriteSummary(summary);
            if (_history.Count > 0 && curves is not null)
                Atomic.WriteText(Folder.PathOf(RunFolder.CurvesFile), curves($"{config.Name} {Folder.Id} ({status})", Folder.ReadMetrics()));
            if (stepCurves is not null && File.Exists(Folder.PathOf(StepLog.File)) && StepLog.Read(Folder.PathOf(StepLog.File)) is { Count: > 0 } steps)
                Atomic.WriteText(Folder.PathOf(RunFolder.StepCurvesFile), stepCurves($"{config.Name} {Folder.Id} ({status}), every step", steps));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error("Could not write the run folder: {Error}", e.Message);
            if (status != RunStatus.Failed) reason = $"could not write the run folder ({e.Message}){(reason is null ? "" : "; " + reason)}";
            status = RunStatus.Failed;
            summary = summary with { Status = status };
            // A summary saved before the failure would say otherwise: it says FAILED too, if it can still be written.
            try { Folder.WriteSummary(summary); }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException) { }
        }
        Record = Record with { Status = status, Reason = reason, Ended = ended, DurationSeconds = summary.DurationSeconds, ExitCode = RunStatus.ExitCode(status) };
        Folder.WriteRecord(Record);
        _log.Information("Run {RunId} {Status} after {Epochs} epochs, {Seconds:0.0} s{Reason}", Folder.Id, status, outcome.EpochsCompleted,
            summary.DurationSeconds, reason is null ? "" : ": " + reason);
        _trackers.Publish(new RunEnded(Record, summary));
        return summary;
    }

    /// <summary>
    /// After a resume failed: the folder's metrics, summary, weights, curves and checkpoint go back to
    /// what they were before it (<paramref name="backup"/>); summary and record say FAILED, with why
    /// and that the folder holds the run as it was.
    /// </summary>
    public RunSummary UndoResume(ResumeBackup backup, RunSummary failed)
    {
        int epoch = Record.Resumptions.Count > 0 ? Record.Resumptions[^1].FromEpoch : 0;
        try
        {
            backup.Restore();
            var summary = (Folder.ReadSummary() ?? failed) with { Status = RunStatus.Failed };
            Folder.WriteSummary(summary);
            Record = Record with { Reason = $"{Record.Reason ?? "failed"}; the resume was undone: the folder holds the run as it was after epoch {epoch}" };
            Folder.WriteRecord(Record);
            _log.Warning("The resume was undone: weights, summary, metrics and checkpoint are those of epoch {Epoch} again", epoch);
            return summary;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            _log.Error("Could not undo the failed resume: {Error}", e.Message);
            return failed;
        }
    }

    /// <summary>Lets the trackers finish (each bounded), then closes the log.</summary>
    public void Dispose()
    {
        _sampler.Dispose();
        _trackers.Dispose();
        _log.Dispose();
        _claim.Dispose();
    }
}

using ExpRunner.IO;

namespace ExpRunner.Tracking;

/// <summary>
/// What a run writes besides training — its records as JSON, its metrics lines, its learning
/// curves — compiled on a spare core while the run reads its config and data, so that the first
/// run.json and the last curves.svg do not wait for the just-in-time compiler (measured: ~35 ms
/// each on a small run). Like <see cref="Training.Precompile"/>, nothing depends on it finishing.
/// </summary>
public static class Warmup
{
    /// <summary>The records (JSON) and metrics lines: needed first, as the run folder is created.</summary>
    public static Task Start() => Task.Factory.StartNew(Records, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static readonly MetricRow[] Rows = [new(1, "train", 1, 0.5, 0.5, 0.1, 0.1, 0), new(1, "test", 1, 0.5, 0.5, 0.1, 0.1, 0),
        new(2, "train", 2, 0.4, 0.6, 0.1, 0.1, 0), new(2, "test", 2, 0.4, 0.6, 0.1, 0.1, 0)];

    /// <summary>The learning curves: needed last (started after the numeric code's compilation).</summary>
    public static void Curves() => Plots.LearningCurves.ForRun("warmup", Rows);

    private static void Records()
    {
        var now = DateTimeOffset.UnixEpoch;
        var record = new RunRecord
        {
            Id = "warmup", Experiment = "warmup", Status = RunStatus.Running, Started = now, Ended = now, Seed = 1, ConfigFile = "-",
            Overrides = ["a=1"], Precision = "float32", Threads = 1, Versions = Provenance.Versions(), Host = "-", User = "-", Pid = 1,
            Dataset = new Data.DatasetFingerprint("-", "-", 1, 0, 1, new Dictionary<string, string> { ["-"] = "-" }), DurationSeconds = 1, ExitCode = 0,
        };
        var summary = new RunSummary
        {
            Id = "warmup", Experiment = "warmup", Status = RunStatus.Finished, EpochsRun = 1, Steps = 1, DurationSeconds = 1,
            Final = new Dictionary<string, double> { ["test_loss"] = 1 }, Best = new Dictionary<string, double> { ["test_loss"] = 1 },
            Params = new Dictionary<string, string> { ["a"] = "1" }, Data = record.Dataset, WeightsEpoch = 1,
        };
        Json.Deserialize<RunRecord>(Json.Serialize(record));
        Json.Deserialize<RunSummary>(Json.Serialize(summary));
        foreach (var r in Rows) RunFolder.MetricsLine(r);
    }
}

using ExpRunner.Tracking;

namespace ExpRunner.Compare;

/// <summary>What compare knows about one run: read from summary.json alone (run.json if there is no summary).</summary>
public sealed record RunRow(string Id, string Experiment, string Status, string Dir, DateTimeOffset? Started,
    IReadOnlyDictionary<string, string> Params, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>A sweep ran this run's trial again (see <see cref="RunRecord.SupersededBy"/>).</summary>
    public bool Superseded { get; init; }

    /// <summary>Final metrics plus best_epoch, epochs_run and duration — the metric columns of a comparison.</summary>
    public static RunRow? Load(RunFolder folder)
    {
        var summary = folder.ReadSummary();
        if (summary is not null)
        {
            var metrics = new Dictionary<string, double>(summary.Final)
            {
                ["epochs_run"] = summary.EpochsRun,
                ["duration"] = summary.DurationSeconds,
            };
            if (summary.BestEpoch is int best) metrics["best_epoch"] = best;
            return new RunRow(summary.Id, summary.Experiment, summary.Status, folder.Dir, null, summary.Params, metrics) { Superseded = summary.SupersededBy is not null };
        }
        var record = folder.ReadRecord();
        if (record is null) return null;
        return new RunRow(record.Id, record.Experiment, RunFolder.EffectiveStatus(record), folder.Dir, record.Started,
            new Dictionary<string, string>(), new Dictionary<string, double>()) { Superseded = record.SupersededBy is not null };
    }

}

using ExpRunner.Config;
using ExpRunner.Training;

namespace ExpRunner.Tracking;

/// <summary>summary.json from the epoch history: last epoch's metrics, and the best epoch.</summary>
public static class Summaries
{
    public static RunSummary Build(string id, ExperimentConfig config, string status, TrainingOutcome outcome, IReadOnlyList<EpochMetrics> history, double seconds)
    {
        var final = new Dictionary<string, double>();
        var best = new Dictionary<string, double>();
        int? bestEpoch = null;
        string? bestBy = null;
        if (history.Count > 0)
        {
            Fill(final, history[^1]);
            bestBy = history[^1]["validation"] is not null ? "validation_accuracy" : "test_accuracy";
            string split = bestBy == "validation_accuracy" ? "validation" : "test";
            var top = history.OrderByDescending(m => m[split]!.Accuracy).ThenBy(m => m.Epoch).First();
            bestEpoch = top.Epoch;
            Fill(best, top);
        }
        return new RunSummary
        {
            Id = id, Experiment = config.Name, Status = status, EpochsRun = history.Count, Steps = outcome.Steps,
            DurationSeconds = Math.Round(seconds, 3), Final = final, BestEpoch = bestEpoch, BestBy = bestBy, Best = best,
            Params = ConfigWriter.Flatten(config).ToDictionary(p => p.Key, p => p.Value),
        };
    }

    private static void Fill(Dictionary<string, double> into, EpochMetrics m)
    {
        foreach (var s in m.Splits)
        {
            into[$"{s.Split}_loss"] = s.Loss;
            into[$"{s.Split}_accuracy"] = s.Accuracy;
        }
    }
}

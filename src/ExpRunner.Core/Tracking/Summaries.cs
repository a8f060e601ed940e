using ExpRunner.Config;
using ExpRunner.Training;

namespace ExpRunner.Tracking;

/// <summary>summary.json from the epoch history: last epoch's metrics, and the best epoch (<see cref="ModelSelection"/>: never chosen on the test set).</summary>
public static class Summaries
{
    public static RunSummary Build(string id, ExperimentConfig config, string status, TrainingOutcome outcome, IReadOnlyList<EpochMetrics> history, double seconds)
    {
        var final = new Dictionary<string, double>();
        var best = new Dictionary<string, double>();
        int? bestEpoch = null;
        string? bestBy = null;
        int? weightsEpoch = null;
        if (history.Count > 0)
        {
            // Final: the epoch whose weights were kept (the last, unless early stopping restored the best).
            var kept = outcome.WeightsEpoch is int w ? history.FirstOrDefault(m => m.Epoch == w) ?? history[^1] : history[^1];
            weightsEpoch = kept.Epoch;
            Fill(final, kept);
            bool validation = history[^1]["validation"] is not null;
            // Never chosen on the test set (ModelSelection): validation accuracy, else the lowest training loss.
            bestBy = config.Training.EarlyStopping?.Metric ?? (validation ? "validation_accuracy" : "train_loss");
            string split = bestBy.StartsWith("validation", StringComparison.Ordinal) ? "validation" : "train";
            // With early stopping, its best (an improvement counts only beyond min_delta); else the top of the metric.
            var top = outcome.BestEpoch is int b && history.FirstOrDefault(m => m.Epoch == b) is { } stopped ? stopped
                : bestBy.EndsWith("_loss", StringComparison.Ordinal)
                ? history.OrderBy(m => m[split]!.Loss).ThenBy(m => m.Epoch).First()
                : history.OrderByDescending(m => m[split]!.Accuracy).ThenBy(m => m.Epoch).First();
            bestEpoch = top.Epoch;
            Fill(best, top);
        }
        return new RunSummary
        {
            Id = id, Experiment = config.Name, Status = status, EpochsRun = history.Count, Steps = outcome.Steps,
            DurationSeconds = Math.Round(seconds, 3), Final = final, WeightsEpoch = weightsEpoch, BestEpoch = bestEpoch, BestBy = bestBy, Best = best,
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

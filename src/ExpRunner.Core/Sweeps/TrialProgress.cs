using ExpRunner.Config;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>How far a trial is: its last epoch of how many, and the metric that judges it (validation accuracy, else test accuracy).</summary>
public sealed record TrialProgress(int Epoch, int Epochs, string Metric, double? Accuracy, double? Loss);

/// <summary>
/// Reads how far running trials are from their run folders (the tail of metrics.csv; the resolved
/// config for the number of epochs, read once per run) — what live views of a sweep show.
/// </summary>
public sealed class TrialProgressReader(SweepStore store)
{
    private readonly Dictionary<string, int> _epochs = [];

    public TrialProgress? Of(TrialRecord trial)
    {
        if (store.RunDirOf(trial) is not { } dir) return null;
        var folder = RunFolder.Open(dir);
        if (!_epochs.TryGetValue(dir, out int epochs))
        {
            try { epochs = ConfigLoader.Load(folder.PathOf(RunFolder.ConfigFile)).Config.Training.Epochs; }
            catch (Exception e) when (e is ConfigException or IOException) { return null; } // not written yet
            _epochs[dir] = epochs;
        }
        IReadOnlyList<MetricRow> last;
        try { last = folder.ReadLastEpoch(); }
        catch (IOException) { last = []; }
        var judged = last.FirstOrDefault(r => r.Split == "validation") ?? last.FirstOrDefault(r => r.Split == "test");
        return new TrialProgress(last.Count == 0 ? 0 : last[0].Epoch, epochs, judged?.Split == "validation" ? "val acc" : "test acc", judged?.Accuracy, judged?.Loss);
    }
}

using System.Globalization;
using ExpRunner.Config;

namespace ExpRunner.Tracking;

/// <summary>One way two runs differ: what (config, data, provenance), the key, and each run's value ("" when it has none).</summary>
public sealed record Difference(string Kind, string Key, string A, string B);

/// <summary>
/// Where two runs first differ: their configs (flattened, key by key), data (the dataset's fingerprint) and
/// provenance (git, versions, precision, threads); then, from what they recorded, the first step whose loss,
/// accuracy or learning rate differs (steps.csv.gz, bit for bit) and the first epoch and layer whose weights
/// differ (checksums.csv). Training is deterministic, so equal records mean the same training, whatever differs
/// elsewhere (threads, the name).
/// </summary>
public sealed record RunDiff(string A, string B, IReadOnlyList<Difference> Differences)
{
    /// <summary>The first step both recorded whose values differ (null: none differ over <see cref="StepsCompared"/>).</summary>
    public long? FirstStep { get; init; }
    /// <summary>What differed at <see cref="FirstStep"/>: loss, accuracy, learning_rate, each run's value.</summary>
    public IReadOnlyList<Difference> AtFirstStep { get; init; } = [];
    public long StepsCompared { get; init; }
    /// <summary>Steps one run recorded and the other did not (after the common ones: one stopped earlier).</summary>
    public long StepsA { get; init; }
    public long StepsB { get; init; }
    /// <summary>The first epoch whose weights differ, and its first layer (null: none over <see cref="EpochsCompared"/>).</summary>
    public (int Epoch, int Layer, string Tensor)? FirstWeights { get; init; }
    public int EpochsCompared { get; init; }
    public int EpochsA { get; init; }
    public int EpochsB { get; init; }
    /// <summary>What could not be compared, and why (a run without a step record or checksums).</summary>
    public IReadOnlyList<string> Missing { get; init; } = [];

    /// <summary>The same training: every step and epoch both recorded agree, and they recorded the same number of each.</summary>
    public bool Identical => FirstStep is null && FirstWeights is null && Missing.Count == 0 && StepsA == StepsB && EpochsA == EpochsB && StepsCompared > 0;

    /// <summary>Keys whose values do not change training (they may differ between identical runs).</summary>
    private static bool Inert(string key) => key is "name" or "training.threads" || key.StartsWith("tracking.", StringComparison.Ordinal) || key.StartsWith("probes.", StringComparison.Ordinal);

    public static RunDiff Of(RunFolder a, RunFolder b)
    {
        var differences = new List<Difference>();
        var missing = new List<string>();
        // Config, key by key (keys either has).
        Dictionary<string, string>? Params(RunFolder f)
        {
            try { return ConfigWriter.Flatten(ConfigLoader.Load(f.PathOf(RunFolder.ConfigFile)).Config).ToDictionary(kv => kv.Key, kv => kv.Value); }
            catch (Exception e) when (e is ConfigException or IOException or UnauthorizedAccessException) { missing.Add($"{f.Id}: its config.yaml cannot be read ({e.Message.Split('\n')[0]})"); return null; }
        }
        var (pa, pb) = (Params(a), Params(b));
        if (pa is not null && pb is not null)
            foreach (var key in pa.Keys.Union(pb.Keys).Distinct())
            {
                string va = pa.GetValueOrDefault(key, ""), vb = pb.GetValueOrDefault(key, "");
                if (va != vb) differences.Add(new Difference(Inert(key) ? "config (does not change training)" : "config", key, va, vb));
            }
        // Data and provenance, from run.json.
        var (ra, rb) = (a.ReadRecord(), b.ReadRecord());
        if (ra is not null && rb is not null)
        {
            void Compare(string kind, string key, string? va, string? vb)
            {
                if ((va ?? "") != (vb ?? "")) differences.Add(new Difference(kind, key, va ?? "", vb ?? ""));
            }
            var (da, db) = (ra.Dataset, rb.Dataset);
            Compare("data", "dataset", da?.Name, db?.Name);
            Compare("data", "source", da?.Source, db?.Source);
            Compare("data", "examples (train/validation/test)", da is null ? null : $"{da.TrainCount}/{da.ValidationCount}/{da.TestCount}", db is null ? null : $"{db.TrainCount}/{db.ValidationCount}/{db.TestCount}");
            foreach (var file in (da?.Sha256.Keys ?? []).Union(db?.Sha256.Keys ?? []).Order(StringComparer.Ordinal))
                Compare("data", "sha256 " + file, da?.Sha256.GetValueOrDefault(file), db?.Sha256.GetValueOrDefault(file));
            Compare("provenance", "precision", ra.Precision, rb.Precision);
            Compare("provenance (does not change training)", "threads", ra.Threads.ToString(CultureInfo.InvariantCulture), rb.Threads.ToString(CultureInfo.InvariantCulture));
            Compare("provenance", "git commit", ra.GitCommit + (ra.GitDirty == true ? " (uncommitted changes)" : ""), rb.GitCommit + (rb.GitDirty == true ? " (uncommitted changes)" : ""));
            foreach (var k in ra.Versions.Keys.Union(rb.Versions.Keys).Order(StringComparer.Ordinal))
                Compare("provenance", k, ra.Versions.GetValueOrDefault(k), rb.Versions.GetValueOrDefault(k));
            Compare("provenance (does not change training)", "host", ra.Host, rb.Host);
        }
        var diff = new RunDiff(a.Id, b.Id, differences) { Missing = missing };
        return diff.WithSteps(a, b).WithWeights(a, b);
    }

    private RunDiff WithSteps(RunFolder a, RunFolder b)
    {
        var missing = Missing.ToList();
        StepRecord? Record(RunFolder f)
        {
            string path = f.PathOf(StepLog.File);
            if (!File.Exists(path)) { missing.Add($"{f.Id} has no per-step record ({StepLog.File})"); return null; }
            try { return StepLog.ReadRecord(f); }
            catch (Exception e) when (e is InvalidDataException or IOException or FormatException) { missing.Add($"{path}: {e.Message}"); return null; }
        }
        var (sa, sb) = (Record(a), Record(b));
        if (sa is null || sb is null) return this with { Missing = missing };
        var byStep = sb.Steps.ToDictionary(s => s.Step);
        long compared = 0;
        foreach (var s in sa.Steps)
        {
            if (!byStep.TryGetValue(s.Step, out var o)) continue;
            compared++;
            var at = new List<Difference>();
            string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            // Bit for bit: a NaN loss equals a NaN loss.
            if (BitConverter.DoubleToInt64Bits(s.Loss) != BitConverter.DoubleToInt64Bits(o.Loss)) at.Add(new Difference("step", "loss", R(s.Loss), R(o.Loss)));
            if (BitConverter.DoubleToInt64Bits(s.Accuracy) != BitConverter.DoubleToInt64Bits(o.Accuracy)) at.Add(new Difference("step", "accuracy", R(s.Accuracy), R(o.Accuracy)));
            if (BitConverter.DoubleToInt64Bits(s.LearningRate) != BitConverter.DoubleToInt64Bits(o.LearningRate)) at.Add(new Difference("step", "learning_rate", R(s.LearningRate), R(o.LearningRate)));
            if (at.Count > 0) return this with { FirstStep = s.Step, AtFirstStep = at, StepsCompared = compared, StepsA = sa.Steps.Count, StepsB = sb.Steps.Count, Missing = missing };
        }
        return this with { StepsCompared = compared, StepsA = sa.Steps.Count, StepsB = sb.Steps.Count, Missing = missing };
    }

    private RunDiff WithWeights(RunFolder a, RunFolder b)
    {
        var missing = Missing.ToList();
        List<LayerChecksum>? Sums(RunFolder f)
        {
            string path = f.PathOf(WeightChecksums.File);
            if (!File.Exists(path)) { missing.Add($"{f.Id} has no weight checksums ({WeightChecksums.File}: runs recorded before it existed)"); return null; }
            try { return WeightChecksums.Read(path); }
            catch (Exception e) when (e is InvalidDataException or IOException) { missing.Add(e.Message); return null; }
        }
        var (ca, cb) = (Sums(a), Sums(b));
        if (ca is null || cb is null) return this with { Missing = missing };
        var other = cb.ToDictionary(c => (c.Epoch, c.Layer));
        int epochs = 0, lastEpoch = 0;
        foreach (var c in ca.OrderBy(c => c.Epoch).ThenBy(c => c.Layer))
        {
            if (!other.TryGetValue((c.Epoch, c.Layer), out var o)) continue;
            if (c.Epoch != lastEpoch) { epochs++; lastEpoch = c.Epoch; }
            if (c.Weight != o.Weight || c.Bias != o.Bias)
                return this with { FirstWeights = (c.Epoch, c.Layer, c.Weight != o.Weight ? "weight" : "bias"), EpochsCompared = epochs, EpochsA = Epochs(ca), EpochsB = Epochs(cb), Missing = missing };
        }
        return this with { EpochsCompared = epochs, EpochsA = Epochs(ca), EpochsB = Epochs(cb), Missing = missing };
    }

    private static int Epochs(List<LayerChecksum> sums) => sums.Select(c => c.Epoch).Distinct().Count();
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using ExpRunner.Config;
using ExpRunner.IO;

namespace ExpRunner.Sweeps;

/// <summary>One line of a sweep's rungs.jsonl: a trial's value at a rung and what was decided.</summary>
public sealed record RungEntry : IJsonRecord<RungEntry>
{
    public static System.Text.Json.Serialization.Metadata.JsonTypeInfo<RungEntry> JsonInfo(bool compact) => SweepsJson.Of(compact).RungEntry;

    public required int Trial { get; init; }
    /// <summary>The rung's number (0 = first) and its epoch.</summary>
    public required int Rung { get; init; }
    public required int Epoch { get; init; }
    /// <summary>The judged metric after <see cref="Epoch"/> (null: diverged, counted as the worst).</summary>
    public double? Value { get; init; }
    /// <summary>continue, pruned, or diverged.</summary>
    public required string Decision { get; init; }
    /// <summary>How many trials were at the rung when this was decided (itself included), and how many of them go on.</summary>
    public int Of { get; init; }
    public int Keep { get; init; }
    /// <summary>The run that reported it (a trial started again from scratch reports anew).</summary>
    public string? RunId { get; init; }
    public DateTimeOffset At { get; init; }
}

/// <summary>
/// Asynchronous successive halving (ASHA, stopping variant). The rule is a pure function of the values
/// at a rung; the ledger is the sweep folder's rungs.jsonl, appended under an exclusive lock
/// (rungs.lock) by the trial that reaches a rung, so trials on any machine that shares the runs
/// directory (a Slurm cluster) decide from the same record without a message to anyone.
/// </summary>
public static class Asha
{
    public const string LedgerFile = "rungs.jsonl", LockFile = "rungs.lock";
    public const string Continue = "continue", Pruned = "pruned", Diverged = "diverged";

    /// <summary>
    /// Whether a trial with <paramref name="value"/> at a rung goes on, against the values of the other
    /// trials that reached it before (null or NaN: diverged, the worst). Of the n trials at the rung
    /// (itself included) the best max(1, ⌊n / factor⌋) go on; a value equal to the last of them goes on too.
    /// </summary>
    public static (bool Promote, int Of, int Keep, double Cutoff) Decide(double value, IEnumerable<double?> others, bool maximize, int factor)
    {
        double Worst(double? v) => v is double d && !double.IsNaN(d) ? d : maximize ? double.NegativeInfinity : double.PositiveInfinity;
        var all = others.Select(Worst).Append(Worst(value)).ToList();
        all.Sort();
        if (maximize) all.Reverse();
        int keep = Math.Max(1, all.Count / factor);
        double cutoff = all[keep - 1], own = Worst(value);
        return (maximize ? own >= cutoff : own <= cutoff, all.Count, keep, cutoff);
    }

    /// <summary>
    /// The ledger's entries, the last per trial and rung (a trial started again from scratch replaces its
    /// own). A last line cut short by a crash is left out (<paramref name="cutTail"/>); any other line that
    /// is not an entry is damage: <see cref="InvalidDataException"/> naming the file and line.
    /// </summary>
    public static IReadOnlyList<RungEntry> Read(string sweepDir, out bool cutTail)
    {
        string path = Path.Combine(sweepDir, LedgerFile);
        cutTail = false;
        if (!File.Exists(path)) return [];
        var last = new Dictionary<(int, int), RungEntry>();
        var (lines, cut) = JsonLines.Read(path, SweepStore.MaxRecordBytes);
        cutTail = cut;
        foreach (var (n, text) in lines)
        {
            RungEntry? e;
            try { e = Json.Deserialize<RungEntry>(text); }
            catch (JsonException ex) { throw new InvalidDataException($"{path}:{n}: not a rung entry ({ex.Message})"); }
            if (e is null || e.Trial < 0 || e.Rung < 0) throw new InvalidDataException($"{path}:{n}: not a rung entry");
            last[(e.Trial, e.Rung)] = e;
        }
        return last.Values.OrderBy(e => e.Rung).ThenBy(e => e.At).ToList();
    }

    public static IReadOnlyList<RungEntry> Read(string sweepDir) => Read(sweepDir, out _);

    /// <summary>
    /// Reports a trial's value at a rung and returns the decision: the one already recorded for this run
    /// (a resumed trial asks again), else decided now against the trials recorded at the rung, under the lock.
    /// </summary>
    public static RungEntry Report(string sweepDir, PruneSpec spec, int trial, string runId, int epoch, double? value, DateTimeOffset now)
    {
        int rung = RungOf(spec, epoch);
        using var held = Lock(sweepDir);
        var entries = Read(sweepDir);
        if (entries.FirstOrDefault(e => e.Trial == trial && e.Rung == rung && e.RunId == runId) is { } known) return known;
        var others = entries.Where(e => e.Rung == rung && e.Trial != trial).Select(e => e.Value).ToList();
        RungEntry entry;
        epoch = (int)EpochOf(spec, rung);
        if (value is null || !double.IsFinite(value.Value))
            entry = new RungEntry { Trial = trial, Rung = rung, Epoch = epoch, Value = null, Decision = Diverged, Of = others.Count + 1, RunId = runId, At = now };
        else
        {
            var (promote, of, keep, _) = Decide(value.Value, others, spec.Maximize, spec.ReductionFactor);
            entry = new RungEntry { Trial = trial, Rung = rung, Epoch = epoch, Value = value, Decision = promote ? Continue : Pruned, Of = of, Keep = keep, RunId = runId, At = now };
        }
        JsonLines.Append(Path.Combine(sweepDir, LedgerFile), Json.Line(entry) + "\n");
        return entry;
    }

    /// <summary>The rung whose epoch is <paramref name="epoch"/> (or, for a divergence, the first rung at or after it).</summary>
    public static int RungOf(PruneSpec spec, int epoch)
    {
        int k = 0;
        for (long e = spec.MinEpochs; e < epoch; e *= spec.ReductionFactor) k++;
        return k;
    }

    /// <summary>The epoch of rung <paramref name="rung"/>.</summary>
    public static long EpochOf(PruneSpec spec, int rung)
    {
        long e = spec.MinEpochs;
        for (int k = 0; k < rung; k++) e *= spec.ReductionFactor;
        return e;
    }

    /// <summary>The ledger's lock: exclusive, waited for (a decision takes milliseconds), released by the kernel if its holder dies.</summary>
    private static FileStream Lock(string sweepDir)
    {
        string path = Path.Combine(sweepDir, LockFile);
        for (int attempt = 0; ; attempt++)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (attempt < 6000 && File.Exists(path)) { Thread.Sleep(10); }
        }
    }

    /// <summary>"pruned at epoch 3: validation_loss 0.52 is not among the best 2 of 7 trials at this rung".</summary>
    public static string Describe(RungEntry e, PruneSpec spec) =>
        $"pruned at epoch {e.Epoch}: {spec.Metric} {e.Value?.ToString("0.######", CultureInfo.InvariantCulture)} is not among the best {e.Keep} of {e.Of} trials at this rung";
}

/// <summary>
/// A sweep trial's pruning: after each rung epoch it reports its metric to the sweep's ledger and is
/// told whether to go on; a divergence is reported as the worst value at the rung it did not reach.
/// </summary>
public sealed class TrialPruner(string sweepDir, PruneSpec spec, int trial, TimeProvider clock)
{
    private bool _divergenceReported;
    public PruneSpec Spec => spec;
    public string? RunId { get; set; }

    /// <summary>After an epoch: null to go on, else why the trial ends PRUNED.</summary>
    public string? After(int epoch, int epochs, double? value)
    {
        if (epoch >= epochs || !spec.Rungs(epochs).Contains(epoch)) return null;
        var entry = Asha.Report(sweepDir, spec, trial, RunId ?? "", epoch, value, clock.GetUtcNow());
        _divergenceReported |= entry.Decision == Asha.Diverged;
        return entry.Decision == Asha.Pruned ? Asha.Describe(entry, spec) : null;
    }

    /// <summary>The trial diverged in <paramref name="epoch"/>: the worst at the first rung it did not pass.</summary>
    public void Diverged(int epoch, int epochs)
    {
        var rungs = spec.Rungs(epochs);
        if (_divergenceReported || rungs.Count == 0 || epoch > rungs[^1]) return;
        Asha.Report(sweepDir, spec, trial, RunId ?? "", epoch, null, clock.GetUtcNow());
        _divergenceReported = true;
    }

    /// <summary>The judged metric in an epoch's metrics ("validation_loss" → the validation split's loss).</summary>
    public static double? Value(string metric, Training.EpochMetrics m)
    {
        int cut = metric.LastIndexOf('_');
        var split = m[metric[..cut]];
        return split is null ? null : metric[(cut + 1)..] == "loss" ? split.Loss : split.Accuracy;
    }
}

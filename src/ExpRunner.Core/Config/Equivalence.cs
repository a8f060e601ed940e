using System.Globalization;

namespace ExpRunner.Config;

/// <summary>
/// When two configs are one configuration run twice. Under plain SGD (no momentum, no weight decay) a step is
/// p ← p − (lr/d)·Σᵢ∇ℓᵢ with d = the batch's size for `mean` and 1 for `sum`: only lr/d — the effective
/// learning rate — matters, so sum at lr and mean at lr·B train identically when every batch holds B
/// examples (a smaller last batch would be divided by its own size). Everything else must be equal, except
/// what does not change training: the experiment's name, threads (results do not depend on them), probes
/// and tracking.
/// </summary>
public static class Equivalence
{
    private const string Lr = "training.learning_rate", Batch = "training.batch_size", Reduction = "training.gradient_reduction";

    private static bool Inert(string key) =>
        key is "name" or "training.threads" or Lr || key == Reduction || key.StartsWith(Reduction + ".", StringComparison.Ordinal)
        || key.StartsWith("probes.", StringComparison.Ordinal) || key.StartsWith("tracking.", StringComparison.Ordinal)
        || key == "label" || key.StartsWith("tags.", StringComparison.Ordinal); // what a person said of the run

    /// <summary>The divisors of the weights' and the biases' gradients (1 for sum, the batch size for mean); null when the params do not say.</summary>
    private static (double W, double B)? Divisors(IReadOnlyDictionary<string, string> p, int? trainCount)
    {
        if (!p.TryGetValue(Batch, out var b) || !int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out int batch) || batch < 1) return null;
        int rows = trainCount is int n && n > 0 ? Math.Min(batch, n) : batch;
        string? weights = p.GetValueOrDefault(Reduction + ".weights") ?? p.GetValueOrDefault(Reduction);
        string? biases = p.GetValueOrDefault(Reduction + ".biases") ?? p.GetValueOrDefault(Reduction);
        double D(string? r) => r == "mean" ? rows : r == "sum" ? 1 : double.NaN;
        var d = (D(weights), D(biases));
        return double.IsNaN(d.Item1) || double.IsNaN(d.Item2) ? null : d;
    }

    /// <summary>The effective learning rates lr/d of the weights and the biases (d: the batch size for mean, 1 for sum).</summary>
    public static (double Weights, double Biases)? EffectiveLr(IReadOnlyDictionary<string, string> p, int? trainCount = null)
    {
        if (!p.TryGetValue(Lr, out var text) || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr)) return null;
        return Divisors(p, trainCount) is { } d ? (lr / d.W, lr / d.B) : null;
    }

    /// <summary>The params <see cref="EffectiveText"/> reads (runs alike in these have one effective rate).</summary>
    public static readonly string[] EffectiveKeys =
        ["training.learning_rate", "training.batch_size", "training.gradient_reduction", "training.gradient_reduction.weights", "training.gradient_reduction.biases"];

    /// <summary>The effective learning rate as text: one number, or the weights' and the biases' when they differ.</summary>
    public static string? EffectiveText(IReadOnlyDictionary<string, string> p) => EffectiveLr(p) switch
    {
        null => null,
        var (w, b) when w == b => G(w),
        var (w, b) => $"w {G(w)} b {G(b)}",
    };

    private static string G(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>Whether the rule applies to a config on its own: plain SGD without momentum or weight decay.</summary>
    public static bool PlainSgd(IReadOnlyDictionary<string, string> p) =>
        p.GetValueOrDefault("training.optimizer") == "sgd"
        && Zero(p.GetValueOrDefault("training.optimizer.momentum")) && Zero(p.GetValueOrDefault("training.optimizer.weight_decay"));

    private static bool Zero(string? v) => v is null || double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && x == 0;

    /// <summary>
    /// The class of configs a config is mathematically one with (equal keys: the same training), or null when the rule
    /// does not apply — not plain SGD, the training set's size unknown, or a last batch smaller than the others.
    /// </summary>
    public static string? Key(IReadOnlyDictionary<string, string> p, int? trainCount)
    {
        if (!PlainSgd(p) || trainCount is not int n || n < 1) return null;
        if (!p.TryGetValue(Batch, out var b) || !int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out int batch) || batch < 1) return null;
        if (batch < n && n % batch != 0) return null;
        if (EffectiveLr(p, n) is not var (w, bias)) return null;
        var rest = p.Where(kv => !Inert(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value);
        return string.Join("\n", rest) + $"\nlr/d: {w.ToString("G12", CultureInfo.InvariantCulture)} {bias.ToString("G12", CultureInfo.InvariantCulture)}";
    }

    /// <summary>
    /// Classes of two or more items that are one configuration: each class its members' indexes, in order. The
    /// caller gives each item's params and training-set size.
    /// </summary>
    public static List<List<int>> Classes(IReadOnlyList<(IReadOnlyDictionary<string, string> Params, int? TrainCount)> items)
    {
        var byKey = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var order = new List<List<int>>();
        for (int i = 0; i < items.Count; i++)
        {
            if (Key(items[i].Params, items[i].TrainCount) is not { } key) continue;
            if (!byKey.TryGetValue(key, out var members)) { byKey[key] = members = []; order.Add(members); }
            members.Add(i);
        }
        return [.. order.Where(c => c.Count > 1)];
    }

    /// <summary>The rule, as said beside the marks.</summary>
    public const string Rule = "under plain SGD without momentum or weight decay, with every batch full, only lr/B (mean) or lr (sum) matters";
}

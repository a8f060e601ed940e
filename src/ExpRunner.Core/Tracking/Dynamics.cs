using System.Globalization;
using ExpRunner.Training;

namespace ExpRunner.Tracking;

/// <summary>
/// A run's probes read back as series: per layer (from 0), per probe (the column's name after
/// `layer{l}.`), the probed steps' values in step order. What `show --dynamics`, the UI's Dynamics tab
/// and `compare --steps` draw from.
/// </summary>
public sealed class Dynamics
{
    /// <summary>The probes `show --dynamics` lists per layer, in this order (those a layer has).</summary>
    public static readonly string[] Shown =
        ["weight.grad_norm", "weight.norm", "weight.update_ratio", "bias.grad_norm", "bias.update_ratio", "dead", "saturated", "pre_mean", "pre_std"];

    public required IReadOnlyList<StepMetrics> Steps { get; init; }
    /// <summary>The probed steps' numbers, ascending.</summary>
    public required long[] Probed { get; init; }
    /// <summary>layer → probe → values at <see cref="Probed"/> (NaN where undefined).</summary>
    public required IReadOnlyList<IReadOnlyDictionary<string, double[]>> Layers { get; init; }

    public static Dynamics From(StepRecord record)
    {
        var probed = record.Steps.Where(s => s.Probes is not null).ToList();
        var layers = new List<Dictionary<string, double[]>>();
        for (int c = 0; c < record.ProbeColumns.Count; c++)
        {
            string name = record.ProbeColumns[c];
            int dot = name.IndexOf('.', StringComparison.Ordinal);
            if (!name.StartsWith("layer", StringComparison.Ordinal) || dot < 0 || !int.TryParse(name.AsSpan(5, dot - 5), NumberStyles.None, CultureInfo.InvariantCulture, out int layer))
                continue;
            while (layers.Count <= layer) layers.Add(new Dictionary<string, double[]>(StringComparer.Ordinal));
            layers[layer][name[(dot + 1)..]] = [.. probed.Select(s => s.Probes![c])];
        }
        return new Dynamics { Steps = record.Steps, Probed = [.. probed.Select(s => s.Step)], Layers = layers };
    }

    /// <summary>Reads a run folder's steps.csv.gz (null when it has none), up to its last whole line while the run trains.</summary>
    public static Dynamics? Read(RunFolder folder) =>
        File.Exists(folder.PathOf(StepLog.File)) ? From(StepLog.ReadRecord(folder)) : null;

    /// <summary>The index in <see cref="Probed"/> of the last probed step at or before <paramref name="step"/> (-1: none).</summary>
    public int At(long step)
    {
        int i = Array.BinarySearch(Probed, step);
        return i >= 0 ? i : ~i - 1;
    }

    /// <summary>The epoch a step belongs to (from the record).</summary>
    public int EpochOf(long step) => Steps.LastOrDefault(s => s.Step <= step).Epoch;

    /// <summary>
    /// A sparkline of <paramref name="values"/> in <paramref name="width"/> characters (▁ to █): each character
    /// the mean of its share of the steps, on a log scale when the positive values span more than two decades.
    /// </summary>
    public static string Sparkline(IReadOnlyList<double> values, int width)
    {
        const string blocks = "▁▂▃▄▅▆▇█";
        var finite = values.Where(double.IsFinite).ToList();
        if (finite.Count == 0 || width <= 0) return "";
        bool log = finite.All(v => v > 0) && finite.Max() / finite.Min() > 100;
        Func<double, double> f = log ? Math.Log10 : v => v;
        width = Math.Min(width, values.Count);
        var means = new double[width];
        for (int c = 0; c < width; c++)
        {
            int from = (int)((long)c * values.Count / width), to = (int)((long)(c + 1) * values.Count / width);
            var bucket = Enumerable.Range(from, to - from).Select(i => values[i]).Where(double.IsFinite).Select(f).ToList();
            means[c] = bucket.Count > 0 ? bucket.Average() : double.NaN;
        }
        var known = means.Where(double.IsFinite).ToList();
        double low = known.Count > 0 ? known.Min() : 0, high = known.Count > 0 ? known.Max() : 0;
        return string.Concat(means.Select(m => !double.IsFinite(m) ? ' ' : high > low ? blocks[(int)Math.Round((m - low) / (high - low) * (blocks.Length - 1))] : blocks[0]));
    }

    /// <summary>A value in at most 9 characters with 3 significant digits (exponent form outside 0.001–99,999).</summary>
    public static string Short(double v)
    {
        if (double.IsNaN(v)) return "-";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        double a = Math.Abs(v);
        if (a == 0) return "0";
        if (a >= 1e-3 && a < 1e5)
        {
            int digits = Math.Max(0, 2 - (int)Math.Floor(Math.Log10(a)));
            return v.ToString("F" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        }
        return v.ToString("0.00e+0", CultureInfo.InvariantCulture);
    }
}

using System.Globalization;

namespace ExpRunner.Sweeps;

/// <summary>One swept key and its values, each value in YAML flow syntax (as --set takes it).</summary>
public sealed record SweepAxis(string Key, IReadOnlyList<string> Values);

/// <summary>A distribution for random search: choice of values, uniform, loguniform or int range.</summary>
public sealed record RandomParam(string Key, string Kind, IReadOnlyList<string> Choices, double Low, double High)
{
    public static readonly string[] Kinds = ["choice", "uniform", "loguniform", "int"];

    public string Draw(Rng rng) => Kind switch
    {
        "choice" => Choices[rng.NextInt(Choices.Count)],
        "uniform" => Format(rng.Uniform(Low, High)),
        "loguniform" => Format(Math.Exp(rng.Uniform(Math.Log(Low), Math.Log(High)))),
        "int" => ((long)Low + rng.NextInt((int)(High - Low) + 1)).ToString(CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException(Kind),
    };

    private static string Format(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}

/// <summary>
/// The `sweep:` block: a grid (Cartesian product), zipped lists (paired by position), or n random
/// draws; each point repeated with <see cref="Repeats"/> seeds. Grid and zip combine as grid × zip.
/// </summary>
public sealed record SweepSpec
{
    public IReadOnlyList<SweepAxis> Grid { get; init; } = [];
    public IReadOnlyList<SweepAxis> Zip { get; init; } = [];
    public int RandomTrials { get; init; }
    public long? RandomSeed { get; init; }
    public IReadOnlyList<RandomParam> Random { get; init; } = [];
    public int Repeats { get; init; } = 1;
    /// <summary>`local` (default) or `slurm`, with the Slurm settings.</summary>
    public string Executor { get; init; } = "local";
    public SlurmOptions Slurm { get; init; } = new();

    public bool IsEmpty => Grid.Count == 0 && Zip.Count == 0 && Random.Count == 0 && Repeats == 1;

    /// <summary>Expands `range(start, stop, step)` and `logspace(a, b, n)` (10^a .. 10^b); other text is one value.</summary>
    public static IReadOnlyList<string>? ExpandFunction(string text, out string? error)
    {
        error = null;
        string t = text.Trim();
        bool range = t.StartsWith("range(", StringComparison.Ordinal), log = t.StartsWith("logspace(", StringComparison.Ordinal);
        if (!range && !log) return null;
        if (!t.EndsWith(')')) { error = $"'{t}': missing ')'"; return null; }
        var args = t[(t.IndexOf('(') + 1)..^1].Split(',').Select(a => a.Trim()).ToArray();
        var nums = new double[args.Length];
        for (int i = 0; i < args.Length; i++)
            if (!double.TryParse(args[i], NumberStyles.Float, CultureInfo.InvariantCulture, out nums[i]))
            { error = $"'{t}': '{args[i]}' is not a number"; return null; }
        var values = new List<string>();
        if (range)
        {
            if (nums.Length is < 2 or > 3) { error = $"'{t}': range takes (start, stop) or (start, stop, step)"; return null; }
            double start = nums[0], stop = nums[1], step = nums.Length == 3 ? nums[2] : 1;
            if (step == 0 || (stop - start) / step > 10_000) { error = $"'{t}': step must be non-zero and give at most 10000 values"; return null; }
            bool ints = args.All(a => long.TryParse(a, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _));
            for (int i = 0; ; i++)
            {
                double v = start + i * step;
                if (step > 0 ? v >= stop - 1e-12 * Math.Abs(step) : v <= stop + 1e-12 * Math.Abs(step)) break;
                values.Add(ints ? ((long)v).ToString(CultureInfo.InvariantCulture) : Math.Round(v, 12).ToString("R", CultureInfo.InvariantCulture));
            }
        }
        else
        {
            if (nums.Length != 3 || nums[2] < 1 || nums[2] > 10_000 || nums[2] != Math.Floor(nums[2]))
            { error = $"'{t}': logspace takes (a, b, n) with n a whole number from 1 to 10000"; return null; }
            int n = (int)nums[2];
            for (int i = 0; i < n; i++)
            {
                double e = n == 1 ? nums[0] : nums[0] + (nums[1] - nums[0]) * i / (n - 1);
                values.Add(Math.Pow(10, e).ToString("G10", CultureInfo.InvariantCulture));
            }
        }
        if (values.Count == 0) error = $"'{t}' gives no values";
        return values;
    }
}

/// <summary>One trial of a sweep: the overrides that make it (seed included) and which point and repeat it is.</summary>
public sealed record Trial(int Index, IReadOnlyList<string> Overrides, long Seed, int Repeat)
{
    public string Label => string.Join(" ", Overrides);
}

/// <summary>Expansion of a sweep into its trials, in a fixed order: points in order, repeats inside.</summary>
public static class SweepPlan
{
    public static IReadOnlyList<Trial> Expand(SweepSpec spec, long baseSeed)
    {
        var points = new List<List<string>> { new() };
        foreach (var axis in spec.Grid)
            points = points.SelectMany(p => axis.Values.Select(v => new List<string>(p) { $"{axis.Key}={v}" })).ToList();
        if (spec.Zip.Count > 0)
        {
            int n = spec.Zip[0].Values.Count;
            points = points.SelectMany(p => Enumerable.Range(0, n).Select(i =>
            {
                var q = new List<string>(p);
                q.AddRange(spec.Zip.Select(a => $"{a.Key}={a.Values[i]}"));
                return q;
            })).ToList();
        }
        if (spec.Random.Count > 0)
        {
            var rng = new Rng(spec.RandomSeed is long s ? (ulong)s : Rng.Derive(baseSeed, "sweep"));
            points = points.SelectMany(p => Enumerable.Range(0, spec.RandomTrials).Select(_ =>
            {
                var q = new List<string>(p);
                q.AddRange(spec.Random.Select(r => $"{r.Key}={r.Draw(rng)}"));
                return q;
            })).ToList();
        }
        var trials = new List<Trial>();
        foreach (var point in points)
            for (int k = 0; k < spec.Repeats; k++)
            {
                long seed = RepeatSeed(baseSeed, k);
                trials.Add(new Trial(trials.Count, [.. point, $"seed={seed.ToString(CultureInfo.InvariantCulture)}"], seed, k));
            }
        return trials;
    }

    /// <summary>Repeat 0 keeps the config's seed (so it matches a plain run); later repeats derive theirs from it.</summary>
    public static long RepeatSeed(long baseSeed, int repeat) =>
        repeat == 0 ? baseSeed : (long)(Rng.Derive(baseSeed, $"repeat:{repeat}") >> 33);
}

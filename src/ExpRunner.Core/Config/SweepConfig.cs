using System.Globalization;

namespace ExpRunner.Config;

/// <summary>One swept key and its values, each value in YAML flow syntax (as --set takes it).</summary>
public sealed record SweepAxis(string Key, IReadOnlyList<string> Values);

/// <summary>A distribution for random search: choice of values, uniform, loguniform or int range.</summary>
public sealed record RandomParam(string Key, string Kind, IReadOnlyList<string> Choices, double Low, double High)
{
    public static readonly string[] Kinds = ["choice", "uniform", "loguniform", "int"];
    /// <summary>The largest bound of an int range: every whole number up to 2^53 is a double exactly.</summary>
    public const double MaxExactInt = 9007199254740992;
}

/// <summary>
/// `sweep.search`: trials proposed one by one by a Tree-structured Parzen Estimator from the results
/// so far (after <see cref="StartupTrials"/> random draws), judged by <see cref="Metric"/>.
/// </summary>
public sealed record SearchSpec(string Method, int Trials, IReadOnlyList<RandomParam> Params, string Metric, string Mode, int StartupTrials, long? Seed)
{
    public static readonly string[] Methods = ["tpe", "random"];
    public static readonly string[] Metrics = ["validation_loss", "validation_accuracy", "test_loss", "test_accuracy", "train_loss", "train_accuracy"];
    public bool Maximize => Mode == "max";
}

/// <summary>
/// `sweep.prune`: asynchronous successive halving. At each rung (epoch min_epochs × factor^k, before
/// the last epoch) a trial goes on only if its <see cref="Metric"/> is among the best 1/factor of the
/// trials that reached that rung so far (itself included; at least one goes on); otherwise it ends PRUNED.
/// </summary>
public sealed record PruneSpec(string Metric, string Mode, int MinEpochs, int ReductionFactor)
{
    public bool Maximize => Mode == "max";

    /// <summary>The rung epochs of a run of <paramref name="epochs"/> epochs: min_epochs × factor^k below the last epoch.</summary>
    public IReadOnlyList<int> Rungs(int epochs)
    {
        var rungs = new List<int>();
        for (long e = MinEpochs; e < epochs; e *= ReductionFactor) rungs.Add((int)e);
        return rungs;
    }
}

/// <summary>Settings of the Slurm executor (config `sweep.executor`; command-line flags win).</summary>
public sealed record SlurmOptions
{
    public string? Partition { get; init; }
    public string? Time { get; init; }
    public int CpusPerTask { get; init; } = 1;
    public string? Mem { get; init; }
    public int? MaxParallel { get; init; }
    public IReadOnlyList<string> SbatchArgs { get; init; } = [];
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
    /// <summary>Model-based search (instead of grid, zip and random).</summary>
    public SearchSpec? Search { get; init; }
    /// <summary>Early stopping of unpromising trials.</summary>
    public PruneSpec? Prune { get; init; }

    public static readonly string[] Executors = ["local", "slurm"];

    public bool IsEmpty => Grid.Count == 0 && Zip.Count == 0 && Random.Count == 0 && Repeats == 1 && Search is null;

    /// <summary>Every key the sweep sets, in the order trials list them.</summary>
    public IEnumerable<string> SweptKeys => Grid.Select(a => a.Key).Concat(Zip.Select(a => a.Key)).Concat(Random.Select(r => r.Key))
        .Concat(Search?.Params.Select(p => p.Key) ?? []);

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

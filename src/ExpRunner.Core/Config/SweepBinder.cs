using YamlDotNet.RepresentationModel;

namespace ExpRunner.Config;

/// <summary>
/// The `sweep:` block. Values of a swept key: a list, one value, or the text `range(start, stop[, step])`
/// or `logspace(a, b, n)`. Values are kept in YAML flow syntax so each trial applies them as --set would.
/// </summary>
internal static class SweepBinder
{
    public static SweepSpec Bind(Section s)
    {
        if (s.Node is null) return new SweepSpec();
        var grid = Axes(s.Child("grid"));
        var zip = Axes(s.Child("zip"));
        if (zip.Select(a => a.Values.Count).Distinct().Count() > 1)
            s.Error(s.Get("zip"), s.Key("zip"), $"zipped lists must have the same length, got {string.Join(", ", zip.Select(a => $"{a.Key}: {a.Values.Count}"))}");
        var r = s.Child("random");
        int trials = (int)r.Integer("trials", 0, 1, 100_000, required: r.Node is not null);
        long? seed = r.Has("seed") ? r.Integer("seed", 0, long.MinValue, long.MaxValue) : null;
        var random = Distributions(r.Child("params", required: r.Node is not null));
        r.RejectUnknown();
        var search = BindSearch(s.Child("search"));
        var prune = BindPrune(s.Child("prune"));
        if (search is not null && (grid.Count > 0 || zip.Count > 0 || random.Count > 0))
            s.Error(s.Get("search"), s.Key("search"), "takes the place of grid, zip and random: a sweep has one of search or those");
        int repeats = (int)s.Integer("repeats", 1, 1, 1000);
        var e = s.Child("executor");
        string executorKind = e.String("kind", "local", ["local", "slurm"])!;
        var slurm = new SlurmOptions
        {
            Partition = e.String("partition", null),
            Time = e.String("time", null),
            CpusPerTask = (int)e.Integer("cpus_per_task", 1, 1, 1024),
            Mem = e.String("mem", null),
            MaxParallel = e.Has("max_parallel") ? (int)e.Integer("max_parallel", 1, 1, 100_000) : null,
            SbatchArgs = e.Get("sbatch_args") is YamlSequenceNode sbatch ? sbatch.Children.Select(Flow).ToList() : [],
        };
        e.RejectUnknown();
        if (search is not null && repeats > 1)
            s.Error(s.Get("repeats"), s.Key("repeats"), "cannot be combined with search (each proposal is one trial; the search itself is what is repeated with other seeds)");
        s.RejectUnknown();
        return new SweepSpec
        {
            Grid = grid, Zip = zip, RandomTrials = trials, RandomSeed = seed, Random = random, Repeats = repeats, Executor = executorKind, Slurm = slurm,
            Search = search, Prune = prune,
        };
    }

    /// <summary>`sweep.search`: model-based search (TPE) over declared distributions, judged by one metric.</summary>
    private static SearchSpec? BindSearch(Section s)
    {
        if (s.Node is null) return null;
        string method = s.String("method", "tpe", SearchSpec.Methods)!;
        int trials = (int)s.Integer("trials", 0, 1, 100_000, required: true);
        var param = Distributions(s.Child("params", required: true));
        var (metric, mode) = MetricAndMode(s);
        int startup = (int)s.Integer("startup_trials", Math.Min(10, Math.Max(1, trials / 4)), 1, 100_000);
        long? seed = s.Has("seed") ? s.Integer("seed", 0, long.MinValue, long.MaxValue) : null;
        s.RejectUnknown();
        return new SearchSpec(method, trials, param, metric, mode, startup, seed);
    }

    /// <summary>`sweep.prune`: asynchronous successive halving on one metric.</summary>
    private static PruneSpec? BindPrune(Section s)
    {
        if (s.Node is null) return null;
        var (metric, mode) = MetricAndMode(s);
        int minEpochs = (int)s.Integer("min_epochs", 1, 1, 1_000_000);
        int factor = (int)s.Integer("reduction_factor", 3, 2, 1000);
        s.RejectUnknown();
        return new PruneSpec(metric, mode, minEpochs, factor);
    }

    /// <summary>A judged metric (split_loss or split_accuracy) and its direction (min for a loss, max for an accuracy unless given).</summary>
    private static (string Metric, string Mode) MetricAndMode(Section s)
    {
        string metric = s.String("metric", "validation_loss", SearchSpec.Metrics)!;
        string mode = s.String("mode", metric.EndsWith("_loss", StringComparison.Ordinal) ? "min" : "max", ["min", "max"])!;
        return (metric, mode);
    }

    private static List<RandomParam> Distributions(Section p)
    {
        var random = new List<RandomParam>();
        if (p.Node is YamlMappingNode pm)
            foreach (var (k, v) in pm.Children)
            {
                string key = ((YamlScalarNode)k).Value ?? "";
                var d = p.Child(key);
                if (d.Node is not YamlMappingNode dm || dm.Children.Count != 1)
                {
                    if (d.Node is not null) p.Error(v, p.Key(key), $"must be one of {{choice: [...]}}, {{uniform: [low, high]}}, {{loguniform: [low, high]}}, {{int: [low, high]}}");
                    continue;
                }
                string kind = ((YamlScalarNode)dm.Children.Keys.First()).Value ?? "";
                var args = dm.Children.Values.First();
                if (!RandomParam.Kinds.Contains(kind)) { d.Error(dm, d.Key(kind), $"unknown distribution; one of {string.Join(", ", RandomParam.Kinds)}{DidYouMean.Suggest(kind, RandomParam.Kinds)}"); d.Get(kind); continue; }
                d.Get(kind);
                var values = args is YamlSequenceNode seq ? seq.Children.Select(Flow).ToList() : [];
                if (kind == "choice")
                {
                    if (values.Count == 0) d.Error(args, d.Key(kind), "needs a non-empty list of values");
                    random.Add(new RandomParam(key, kind, values, 0, 0));
                    continue;
                }
                if (values.Count != 2 || !double.TryParse(values[0], System.Globalization.CultureInfo.InvariantCulture, out double low)
                    || !double.TryParse(values[1], System.Globalization.CultureInfo.InvariantCulture, out double high) || !(low < high)
                    || (kind == "loguniform" && low <= 0))
                {
                    d.Error(args, d.Key(kind), $"needs [low, high] with low < high{(kind == "loguniform" ? " and low > 0" : "")}");
                    continue;
                }
                if (kind == "int" && (low != Math.Floor(low) || high != Math.Floor(high) || Math.Abs(low) > RandomParam.MaxExactInt || Math.Abs(high) > RandomParam.MaxExactInt))
                {
                    d.Error(args, d.Key(kind), $"needs whole numbers within ±{RandomParam.MaxExactInt:0} (2^53), where every value is drawn exactly");
                    continue;
                }
                random.Add(new RandomParam(key, kind, [], low, high));
            }
        return random;
    }

    private static List<SweepAxis> Axes(Section s)
    {
        var axes = new List<SweepAxis>();
        if (s.Node is not YamlMappingNode map) return axes;
        foreach (var (k, v) in map.Children)
        {
            string key = ((YamlScalarNode)k).Value ?? "";
            s.Get(key);
            if (v is YamlSequenceNode seq)
            {
                if (seq.Children.Count == 0) s.Error(v, s.Key(key), "needs at least one value");
                axes.Add(new SweepAxis(key, seq.Children.Select(Flow).ToList()));
            }
            else if (v is YamlScalarNode { Value: { } text })
            {
                var expanded = SweepSpec.ExpandFunction(text, out var error);
                if (error is not null) s.Error(v, s.Key(key), error);
                axes.Add(new SweepAxis(key, expanded ?? [Flow(v)]));
            }
            else s.Error(v, s.Key(key), "must be a list of values, range(start, stop, step) or logspace(a, b, n)");
        }
        return axes;
    }

    /// <summary>A node as YAML flow text: what --set KEY=TEXT would parse back to the same node.</summary>
    public static string Flow(YamlNode node) => node switch
    {
        YamlScalarNode s when s.Style is YamlDotNet.Core.ScalarStyle.Plain => s.Value ?? "",
        YamlScalarNode s => "'" + (s.Value ?? "").Replace("'", "''") + "'",
        YamlSequenceNode q => "[" + string.Join(", ", q.Children.Select(Flow)) + "]",
        YamlMappingNode m => "{" + string.Join(", ", m.Children.Select(c => $"{Flow(c.Key)}: {Flow(c.Value)}")) + "}",
        _ => "",
    };
}

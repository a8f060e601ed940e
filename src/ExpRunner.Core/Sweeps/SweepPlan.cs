using System.Globalization;
using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Nn;

namespace ExpRunner.Sweeps;

/// <summary>One trial of a sweep: the overrides that make it (seed included) and which point and repeat it is.</summary>
public sealed record Trial(int Index, IReadOnlyList<string> Overrides, long Seed, int Repeat)
{
    public string Label => string.Join(" ", Overrides);
}

/// <summary>Expansion of a sweep into its trials, in a fixed order: points in order, repeats inside.</summary>
public static class SweepPlan
{
    /// <summary>Trials a sweep would expand to, counted without expanding it (so a huge grid costs nothing).</summary>
    public static BigInteger Count(SweepSpec spec)
    {
        BigInteger n = 1;
        foreach (var axis in spec.Grid) n *= axis.Values.Count;
        if (spec.Zip.Count > 0) n *= spec.Zip[0].Values.Count;
        if (spec.Random.Count > 0) n *= spec.RandomTrials;
        if (spec.Search is { } search) n *= search.Trials;
        return n * spec.Repeats;
    }

    /// <summary>How <see cref="Count"/> came about, e.g. "grid 10000 × 10000 × 3 repeats".</summary>
    public static string Shape(SweepSpec spec)
    {
        var factors = spec.Grid.Select(a => a.Values.Count.ToString(CultureInfo.InvariantCulture)).ToList();
        if (spec.Zip.Count > 0) factors.Add($"zip {spec.Zip[0].Values.Count}");
        if (spec.Random.Count > 0) factors.Add($"{spec.RandomTrials} random draws");
        if (spec.Search is { } search) factors.Add($"{search.Trials} {search.Method} proposals");
        if (spec.Repeats > 1) factors.Add($"{spec.Repeats} repeats");
        return factors.Count == 0 ? "one trial" : string.Join(" × ", factors);
    }

    public static IReadOnlyList<Trial> Expand(SweepSpec spec, long baseSeed)
    {
        // A search's trials get their values as they start (from the results so far); until then only their seed.
        if (spec.Search is { } search)
            return Enumerable.Range(0, search.Trials).Select(i => new Trial(i, [$"seed={baseSeed.ToString(CultureInfo.InvariantCulture)}"], baseSeed, 0)).ToList();
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
                q.AddRange(spec.Random.Select(r => $"{r.Key}={Draw(r, rng)}"));
                return q;
            })).ToList();
        }
        var trials = new List<Trial>();
        foreach (var point in points)
        {
            // A point that sweeps the seed itself is repeated from its own seed (its value is not overridden).
            int own = point.FindIndex(o => o.StartsWith("seed=", StringComparison.Ordinal));
            long pointSeed = own >= 0 && long.TryParse(point[own][5..], NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) ? s : baseSeed;
            var rest = own >= 0 ? point.Where((_, i) => i != own).ToList() : point;
            for (int k = 0; k < spec.Repeats; k++)
            {
                long seed = RepeatSeed(pointSeed, k);
                trials.Add(new Trial(trials.Count, [.. rest, $"seed={seed.ToString(CultureInfo.InvariantCulture)}"], seed, k));
            }
        }
        return trials;
    }

    /// <summary>
    /// Points that stand for every value a search may propose, to check the trial configs before the
    /// sweep starts: all parameters at their lows, at their highs, and each choice of each parameter.
    /// </summary>
    public static IReadOnlyList<Trial> Probes(SearchSpec search, long baseSeed)
    {
        string Low(RandomParam p) => p.Kind == "choice" ? p.Choices[0] : p.Kind == "int" ? ((long)p.Low).ToString(CultureInfo.InvariantCulture) : p.Low.ToString("R", CultureInfo.InvariantCulture);
        string High(RandomParam p) => p.Kind == "choice" ? p.Choices[^1] : p.Kind == "int" ? ((long)p.High).ToString(CultureInfo.InvariantCulture) : p.High.ToString("R", CultureInfo.InvariantCulture);
        var points = new List<List<string>>
        {
            search.Params.Select(p => $"{p.Key}={Low(p)}").ToList(),
            search.Params.Select(p => $"{p.Key}={High(p)}").ToList(),
        };
        foreach (var p in search.Params.Where(p => p.Kind == "choice"))
            foreach (var c in p.Choices) points.Add(search.Params.Select(q => q == p ? $"{q.Key}={c}" : $"{q.Key}={Low(q)}").ToList());
        string seed = $"seed={baseSeed.ToString(CultureInfo.InvariantCulture)}";
        return points.DistinctBy(o => string.Join(" ", o)).Select((o, i) => new Trial(i, [.. o, seed], baseSeed, 0)).ToList();
    }

    /// <summary>Repeat 0 keeps the config's seed (so it matches a plain run); later repeats derive theirs from it.</summary>
    public static long RepeatSeed(long baseSeed, int repeat) =>
        repeat == 0 ? baseSeed : (long)(Rng.Derive(baseSeed, $"repeat:{repeat}") >> 33);

    /// <summary>A value drawn from a distribution, as override text.</summary>
    public static string Draw(RandomParam p, Rng rng) => p.Kind switch
    {
        "choice" => p.Choices[rng.NextInt(p.Choices.Count)],
        "uniform" => Format(p, rng.Uniform(p.Low, p.High)),
        "loguniform" => Format(p, Math.Exp(rng.Uniform(Math.Log(p.Low), Math.Log(p.High)))),
        "int" => ((long)p.Low + (long)rng.NextUInt64Below((ulong)((long)p.High - (long)p.Low) + 1)).ToString(CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException(p.Kind),
    };

    /// <summary>
    /// A drawn number as override text: within [low, high] (rounding at the ends cannot step outside)
    /// and in its shortest form that parses back to the same double — the value the trial trains with
    /// is the value drawn.
    /// </summary>
    public static string Format(RandomParam p, double v) => Math.Clamp(v, p.Low, p.High).ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Hydra's habit for --set: KEY=a,b,c (a comma outside brackets and quotes) or KEY=range(...) /
    /// logspace(...) sweeps over the values; anything else is a plain override applied to every trial.
    /// </summary>
    public static (List<string> Plain, List<SweepAxis> Swept) SplitOverrides(IEnumerable<string> sets)
    {
        var plain = new List<string>();
        var swept = new List<SweepAxis>();
        foreach (var s in sets)
        {
            int eq = s.IndexOf('=');
            if (eq <= 0) { plain.Add(s); continue; }
            string key = s[..eq], value = s[(eq + 1)..];
            var fn = SweepSpec.ExpandFunction(value, out var error);
            if (error is not null) throw new ConfigException([new ConfigError($"--set {s}", key, error)]);
            var parts = TopLevelSplit(value);
            if (fn is not null) swept.Add(new SweepAxis(key, fn));
            else if (parts.Count > 1) swept.Add(new SweepAxis(key, parts));
            else plain.Add(s);
        }
        return (plain, swept);
    }

    private static List<string> TopLevelSplit(string value)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        char quote = '\0';
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
            switch (c)
            {
                case '\'' or '"': quote = c; break;
                case '[' or '{' or '(': depth++; break;
                case ']' or '}' or ')': depth--; break;
                case ',' when depth == 0: parts.Add(value[start..i].Trim()); start = i + 1; break;
            }
        }
        parts.Add(value[start..].Trim());
        return parts;
    }
}

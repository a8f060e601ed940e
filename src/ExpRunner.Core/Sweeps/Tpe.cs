using System.Globalization;
using ExpRunner.Config;
using ExpRunner.Nn;
using ExpRunner.Tracking;

namespace ExpRunner.Sweeps;

/// <summary>Gives a trial its values as it is about to start (a search); null when the trial has them already.</summary>
public interface ITrialProposer
{
    IReadOnlyList<string>? Propose(SweepRecord sweep, IReadOnlyList<TrialRecord> trials, TrialRecord trial);
}

/// <summary>
/// A trial's outcome as a search sees it: its values (transformed) and how good it was, lower first:
/// <see cref="Stage"/> (0 finished; a pruned trial 1 + the epochs it did not reach; no result: the
/// worst), then <see cref="Score"/> (the metric, negated when higher is better).
/// </summary>
public sealed record Observation(int Trial, IReadOnlyDictionary<string, double> Values, int Stage, double Score)
{
    public const int Worst = int.MaxValue;
    public bool HasResult => Stage != Worst;
}

/// <summary>
/// Tree-structured Parzen Estimator (Bergstra et al. 2011, univariate, with Optuna's defaults): the
/// observations are split into the best γ(n) = min(⌈0.1 n⌉, 25) and the rest; each parameter's
/// densities l(x) (best) and g(x) (rest) are mixtures of truncated normals, one per observation
/// (bandwidth: the larger gap to its neighbours, clipped to [range / min(100, n + 2), range]) plus a
/// prior over the whole range (weight 1); 24 candidates drawn from l, the one with the largest
/// l(x)/g(x) proposed. Choices are categorical kernels. Trials proposed but without a result yet
/// count as the worst (a constant liar), so trials started together explore apart. Every draw comes
/// from a generator seeded by the sweep's seed and the trial's index: the same results in the same
/// order propose the same trials.
/// </summary>
public sealed class TpeProposer(SweepStore store, SearchSpec spec, long baseSeed) : ITrialProposer
{
    public const int Candidates = 24;
    private readonly Dictionary<(int, string), (double Value, int Epochs, bool Complete)?> _results = [];

    public ulong Seed { get; } = spec.Seed is long s ? (ulong)s : Rng.Derive(baseSeed, "search");

    public static bool IsProposed(SearchSpec spec, TrialRecord t) => spec.Params.All(p => t.Overrides.Any(o => o.StartsWith(p.Key + "=", StringComparison.Ordinal)));

    public IReadOnlyList<string>? Propose(SweepRecord sweep, IReadOnlyList<TrialRecord> trials, TrialRecord trial)
    {
        if (IsProposed(spec, trial)) return null;
        var observations = Observe(trials);
        var rng = new Rng(Rng.Derive((long)Seed, $"trial:{trial.Index.ToString(CultureInfo.InvariantCulture)}"));
        bool random = spec.Method == "random" || trial.Index < spec.StartupTrials || !observations.Any(o => o.HasResult);
        var values = random ? spec.Params.Select(p => SweepPlan.Draw(p, rng)).ToList() : Suggest(spec.Params, observations, rng);
        return [.. spec.Params.Select((p, i) => $"{p.Key}={values[i]}"), .. trial.Overrides.Where(o => !spec.Params.Any(p => o.StartsWith(p.Key + "=", StringComparison.Ordinal)))];
    }

    /// <summary>
    /// Every proposed trial, in trial order, scored so that lower is better: a finished trial by its
    /// metric; a pruned one behind every finished one, the further it got the better; a diverged one,
    /// or one without a result yet, the worst.
    /// </summary>
    public IReadOnlyList<Observation> Observe(IReadOnlyList<TrialRecord> trials)
    {
        var list = new List<Observation>();
        foreach (var t in trials)
        {
            if (!IsProposed(spec, t)) continue;
            var values = new Dictionary<string, double>();
            foreach (var p in spec.Params)
            {
                string text = t.Overrides.First(o => o.StartsWith(p.Key + "=", StringComparison.Ordinal))[(p.Key.Length + 1)..];
                values[p.Key] = p.Kind == "choice" ? Math.Max(0, p.Choices.ToList().IndexOf(text))
                    : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? Transform(p, v) : double.NaN;
            }
            var o = new Observation(t.Index, values, Observation.Worst, double.PositiveInfinity);
            if (t.Status is RunStatus.Finished or RunStatus.Pruned && Result(t) is { } r && double.IsFinite(r.Value))
                // A finished trial beats any pruned one; a pruned one beats those pruned earlier. The metric orders within.
                o = o with { Stage = r.Complete ? 0 : 1 + Math.Max(0, 1_000_000 - r.Epochs), Score = spec.Maximize ? -r.Value : r.Value };
            list.Add(o);
        }
        return list;
    }

    private (double Value, int Epochs, bool Complete)? Result(TrialRecord t)
    {
        if (t.RunDir is null) return null;
        var key = (t.Index, t.RunDir);
        if (_results.TryGetValue(key, out var known)) return known;
        (double, int, bool)? result = null;
        try
        {
            if (RunFolder.Open(Path.Combine(store.RunsRoot, t.RunDir)).ReadSummary() is { } s && s.Final.TryGetValue(spec.Metric, out double v))
                result = (v, s.EpochsRun, s.Status == RunStatus.Finished);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { }
        return _results[key] = result;
    }

    /// <summary>The proposal for each parameter (as override text), from the observations.</summary>
    public static List<string> Suggest(IReadOnlyList<RandomParam> parameters, IReadOnlyList<Observation> observations, Rng rng)
    {
        // Best first; ties keep trial order.
        var ranked = observations.Select((o, i) => (o, i)).OrderBy(x => x.o.Stage).ThenBy(x => x.o.Score).ThenBy(x => x.i).Select(x => x.o).ToList();
        int n = ranked.Count, nBelow = Math.Min((int)Math.Ceiling(0.1 * n), 25);
        var below = ranked.Take(nBelow).OrderBy(o => o.Trial).ToList();
        var above = ranked.Skip(nBelow).OrderBy(o => o.Trial).ToList();
        var result = new List<string>();
        foreach (var p in parameters)
        {
            if (p.Kind == "choice")
            {
                var l = Categorical(p.Choices.Count, below.Select(o => (int)o.Values[p.Key]).ToArray());
                var g = Categorical(p.Choices.Count, above.Select(o => (int)o.Values[p.Key]).ToArray());
                int best = -1;
                double bestScore = double.NegativeInfinity;
                for (int c = 0; c < Candidates; c++)
                {
                    int k = Pick(l, rng);
                    double score = Math.Log(l[k]) - Math.Log(g[k]);
                    if (score > bestScore) (best, bestScore) = (k, score);
                }
                result.Add(p.Choices[best]);
                continue;
            }
            var (low, high) = Bounds(p);
            var lp = Parzen.Build(below.Select(o => o.Values[p.Key]).ToArray(), low, high);
            var gp = Parzen.Build(above.Select(o => o.Values[p.Key]).ToArray(), low, high);
            double bestX = double.NaN, bestS = double.NegativeInfinity;
            for (int c = 0; c < Candidates; c++)
            {
                double x = lp.Sample(rng);
                if (p.Kind == "int") x = Math.Clamp(Math.Round(x), p.Low, p.High);
                double score = lp.LogPdf(x) - gp.LogPdf(x);
                if (score > bestS) (bestX, bestS) = (x, score);
            }
            result.Add(Format(p, bestX));
        }
        return result;
    }

    public static double Transform(RandomParam p, double v) => p.Kind == "loguniform" ? Math.Log(v) : v;

    private static (double Low, double High) Bounds(RandomParam p) => p.Kind switch
    {
        "loguniform" => (Math.Log(p.Low), Math.Log(p.High)),
        "int" => (p.Low - 0.5, p.High + 0.5),
        _ => (p.Low, p.High),
    };

    private static string Format(RandomParam p, double x) => p.Kind switch
    {
        "int" => ((long)x).ToString(CultureInfo.InvariantCulture),
        "loguniform" => SweepPlan.Format(p, Math.Exp(x)),
        _ => SweepPlan.Format(p, x),
    };

    /// <summary>Optuna's categorical estimator: each observation's kernel puts 1 on its choice plus the prior spread over all.</summary>
    private static double[] Categorical(int k, int[] observed)
    {
        int kernels = observed.Length + 1;
        double prior = 1.0 / kernels;
        var mix = new double[k];
        var weights = Parzen.Weights(observed.Length);
        double total = weights.Sum() + 1;
        for (int i = 0; i < kernels; i++)
        {
            double w = (i < observed.Length ? weights[i] : 1) / total;
            double rowSum = prior * k + (i < observed.Length ? 1 : 0);
            for (int c = 0; c < k; c++) mix[c] += w * (prior + (i < observed.Length && observed[i] == c ? 1 : 0)) / rowSum;
        }
        return mix;
    }

    private static int Pick(double[] p, Rng rng)
    {
        double u = rng.NextDouble(), acc = 0;
        for (int i = 0; i < p.Length; i++) if ((acc += p[i]) > u) return i;
        return p.Length - 1;
    }
}

/// <summary>A mixture of normals truncated to [low, high]: one per observation and one for the prior.</summary>
public sealed class Parzen
{
    private readonly double[] _mu, _sigma, _w, _logZ;
    private readonly double _low, _high;

    private Parzen(double[] mu, double[] sigma, double[] w, double low, double high)
    {
        (_mu, _sigma, _w, _low, _high) = (mu, sigma, w, low, high);
        _logZ = mu.Select((m, i) => Math.Log(Math.Max(1e-300, Phi((high - m) / sigma[i]) - Phi((low - m) / sigma[i])))).ToArray();
    }

    public IReadOnlyList<double> Mus => _mu;
    public IReadOnlyList<double> Sigmas => _sigma;
    public IReadOnlyList<double> Mix => _w;

    /// <summary>Observation weights, oldest first: all 1 up to 25; beyond, the oldest ramp up from 1/n (the last 25 stay 1).</summary>
    public static double[] Weights(int n)
    {
        if (n < 25) return Enumerable.Repeat(1.0, n).ToArray();
        var w = new double[n];
        int ramp = n - 25;
        for (int i = 0; i < ramp; i++) w[i] = ramp == 1 ? 1.0 / n : 1.0 / n + (1 - 1.0 / n) * i / (ramp - 1);
        for (int i = ramp; i < n; i++) w[i] = 1;
        return w;
    }

    public static Parzen Build(double[] observed, double low, double high)
    {
        int n = observed.Length;
        var mu = new double[n + 1];
        var sigma = new double[n + 1];
        var order = Enumerable.Range(0, n).OrderBy(i => observed[i]).ToArray();
        var sorted = new double[n + 2];
        sorted[0] = low; sorted[^1] = high;
        for (int i = 0; i < n; i++) sorted[i + 1] = observed[order[i]];
        for (int i = 0; i < n; i++)
        {
            double s = Math.Max(sorted[i + 1] - sorted[i], sorted[i + 2] - sorted[i + 1]);
            // The outermost kernels measure to their inner neighbour only, not to the ends of the range.
            if (n >= 2 && i == 0) s = sorted[2] - sorted[1];
            if (n >= 2 && i == n - 1) s = sorted[n] - sorted[n - 1];
            mu[order[i]] = observed[order[i]];
            sigma[order[i]] = s;
        }
        mu[n] = 0.5 * (low + high);
        sigma[n] = high - low;
        double max = high - low, min = max / Math.Min(100.0, n + 2);
        for (int i = 0; i <= n; i++) sigma[i] = Math.Clamp(sigma[i], min, max);
        var w = Weights(n).Append(1.0).ToArray();
        double sum = w.Sum();
        for (int i = 0; i < w.Length; i++) w[i] /= sum;
        return new Parzen(mu, sigma, w, low, high);
    }

    public double Sample(Rng rng)
    {
        double u = rng.NextDouble(), acc = 0;
        int k = _w.Length - 1;
        for (int i = 0; i < _w.Length; i++) if ((acc += _w[i]) > u) { k = i; break; }
        for (int tries = 0; tries < 100; tries++)
        {
            double x = _mu[k] + _sigma[k] * rng.NextGaussian();
            if (x >= _low && x <= _high) return x;
        }
        return rng.Uniform(_low, _high);
    }

    public double LogPdf(double x)
    {
        double max = double.NegativeInfinity;
        var terms = new double[_mu.Length];
        for (int i = 0; i < _mu.Length; i++)
        {
            double z = (x - _mu[i]) / _sigma[i];
            terms[i] = Math.Log(_w[i]) - 0.5 * z * z - Math.Log(_sigma[i] * Math.Sqrt(2 * Math.PI)) - _logZ[i];
            max = Math.Max(max, terms[i]);
        }
        double s = 0;
        foreach (var t in terms) s += Math.Exp(t - max);
        return max + Math.Log(s);
    }

    /// <summary>The standard normal CDF, through erfc (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7).</summary>
    public static double Phi(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    private static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
            + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}

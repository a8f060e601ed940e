using ExpRunner.Nn;

namespace ExpRunner.Data;

/// <summary>
/// Seeded two-dimensional (and, for gaussian_quantiles, n-dimensional) toy problems, following
/// scikit-learn's make_* semantics where one exists. Examples come out in random order.
/// </summary>
public static class Synthetic
{
    public static Dataset Generate(string name, int samples, int features, int classes, double cov, double noise, double factor, Rng rng)
    {
        var (x, y, d) = name switch
        {
            "gaussian_quantiles" => GaussianQuantiles(samples, features, classes, cov, rng),
            "xor" => Xor(samples, noise, rng),
            "circles" => Circles(samples, noise, factor, rng),
            "moons" => Moons(samples, noise, rng),
            "spirals" => Spirals(samples, classes, noise, rng),
            _ => throw new ArgumentException($"unknown synthetic dataset '{name}'"),
        };
        // Shuffle examples (and their labels) together.
        var order = Enumerable.Range(0, samples).ToArray();
        rng.Shuffle<int>(order);
        var xs = new double[samples * d];
        var ys = new int[samples];
        for (int i = 0; i < samples; i++)
        {
            Array.Copy(x, order[i] * d, xs, i * d, d);
            ys[i] = y[order[i]];
        }
        return Dataset.FromValues(name, xs, ys, d, name is "gaussian_quantiles" or "spirals" ? classes : 2);
    }

    /// <summary>
    /// An isotropic Gaussian N(0, cov·I); classes are nested shells holding equal numbers of points,
    /// ranked by distance from the mean (sklearn.datasets.make_gaussian_quantiles).
    /// </summary>
    private static (double[], int[], int) GaussianQuantiles(int n, int d, int k, double cov, Rng rng)
    {
        var x = new double[n * d];
        double std = Math.Sqrt(cov);
        for (int i = 0; i < x.Length; i++) x[i] = std * rng.NextGaussian();
        var dist = new double[n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) dist[i] += x[i * d + j] * x[i * d + j];
        var rank = Enumerable.Range(0, n).ToArray();
        Array.Sort(dist.ToArray(), rank);
        var y = new int[n];
        int step = n / k;
        for (int r = 0; r < n; r++) y[rank[r]] = Math.Min(r / step, k - 1);
        return (x, y, d);
    }

    /// <summary>Uniform points in [−1, 1]²; class 1 where the signs of x and y differ; Gaussian noise added.</summary>
    private static (double[], int[], int) Xor(int n, double noise, Rng rng)
    {
        var x = new double[n * 2];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            double a = rng.Uniform(-1, 1), b = rng.Uniform(-1, 1);
            y[i] = a * b < 0 ? 1 : 0;
            x[2 * i] = a + noise * rng.NextGaussian();
            x[2 * i + 1] = b + noise * rng.NextGaussian();
        }
        return (x, y, 2);
    }

    /// <summary>Two concentric circles, radius 1 (class 0) and <paramref name="factor"/> (class 1) (make_circles).</summary>
    private static (double[], int[], int) Circles(int n, double noise, double factor, Rng rng)
    {
        int outer = n / 2;
        var x = new double[n * 2];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            bool inner = i >= outer;
            int m = inner ? n - outer : outer, j = inner ? i - outer : i;
            double t = 2 * Math.PI * j / m, r = inner ? factor : 1.0;
            x[2 * i] = r * Math.Cos(t) + noise * rng.NextGaussian();
            x[2 * i + 1] = r * Math.Sin(t) + noise * rng.NextGaussian();
            y[i] = inner ? 1 : 0;
        }
        return (x, y, 2);
    }

    /// <summary>Two interleaving half circles (make_moons).</summary>
    private static (double[], int[], int) Moons(int n, double noise, Rng rng)
    {
        int outer = n / 2;
        var x = new double[n * 2];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            bool inner = i >= outer;
            int m = inner ? n - outer : outer, j = inner ? i - outer : i;
            double t = m > 1 ? Math.PI * j / (m - 1) : 0;
            x[2 * i] = (inner ? 1 - Math.Cos(t) : Math.Cos(t)) + noise * rng.NextGaussian();
            x[2 * i + 1] = (inner ? 0.5 - Math.Sin(t) : Math.Sin(t)) + noise * rng.NextGaussian();
            y[i] = inner ? 1 : 0;
        }
        return (x, y, 2);
    }

    /// <summary>k interleaved spiral arms, one per class (the CS231n toy problem); noise perturbs the angle.</summary>
    private static (double[], int[], int) Spirals(int n, int k, double noise, Rng rng)
    {
        var x = new double[n * 2];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % k, j = i / k, per = (n - c + k - 1) / k;
            double r = per > 1 ? (double)j / (per - 1) : 0;
            double t = 4.0 * c + 4.0 * r + noise * rng.NextGaussian();
            x[2 * i] = r * Math.Sin(t);
            x[2 * i + 1] = r * Math.Cos(t);
            y[i] = c;
        }
        return (x, y, 2);
    }
}

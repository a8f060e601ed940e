namespace ExpRunner.Compare;

/// <summary>
/// The statistics compare shows: mean, sample standard deviation, the 95% confidence interval of a
/// mean (Student's t), and whether a difference of means is real — Welch's t-test (unequal
/// variances), or a one-sample t-test against a single run. The t distribution comes from the
/// regularized incomplete beta function (Numerical Recipes' continued fraction).
/// </summary>
public static class Statistics
{
    /// <summary>
    /// Sorts values ascending in IEEE 754's total order (−NaN, −∞ … −0, +0 … +∞, NaN): values that
    /// sort equal have the same bits, so the order is the same whatever order they came in. An
    /// introsort of its own, compiled optimised from its first call (the framework's generic sort of
    /// doubles starts in unoptimised code: 100,000 values sorted once by a command cost several times more).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void SortTotal(Span<double> values)
    {
        // Each value's bits made a whole number that orders as the total order does (negative values have
        // their other bits flipped; done twice it undoes itself), the numbers sorted, the bits put back.
        var keys = System.Runtime.InteropServices.MemoryMarshal.Cast<double, long>(values);
        Flip(keys);
        Sort(keys, 2 * (int)Math.Log2(keys.Length + 1) + 2);
        Flip(keys);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Flip(Span<long> keys)
    {
        for (int i = 0; i < keys.Length; i++) keys[i] ^= (keys[i] >> 63) & long.MaxValue;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Sort(Span<long> v, int depth)
    {
        while (v.Length > 16)
        {
            if (depth-- == 0) { HeapSort(v); return; }
            // Median of three as the pivot, then Hoare's partition.
            int mid = v.Length / 2, last = v.Length - 1;
            if (v[mid] < v[0]) (v[mid], v[0]) = (v[0], v[mid]);
            if (v[last] < v[0]) (v[last], v[0]) = (v[0], v[last]);
            if (v[last] < v[mid]) (v[last], v[mid]) = (v[mid], v[last]);
            long pivot = v[mid];
            int i = -1, j = v.Length;
            while (true)
            {
                do i++; while (v[i] < pivot);
                do j--; while (v[j] > pivot);
                if (i >= j) break;
                (v[i], v[j]) = (v[j], v[i]);
            }
            // The smaller side by recursion, the larger by the loop (depth of recursion stays logarithmic).
            if (j + 1 < v.Length - j - 1) { Sort(v[..(j + 1)], depth); v = v[(j + 1)..]; }
            else { Sort(v[(j + 1)..], depth); v = v[..(j + 1)]; }
        }
        for (int a = 1; a < v.Length; a++)
        {
            long x = v[a];
            int b = a - 1;
            while (b >= 0 && v[b] > x) { v[b + 1] = v[b]; b--; }
            v[b + 1] = x;
        }
    }

    private static void HeapSort(Span<long> v)
    {
        for (int i = v.Length / 2 - 1; i >= 0; i--) Down(v, i, v.Length);
        for (int end = v.Length - 1; end > 0; end--)
        {
            (v[0], v[end]) = (v[end], v[0]);
            Down(v, 0, end);
        }
        static void Down(Span<long> v, int i, int n)
        {
            while (2 * i + 1 < n)
            {
                int c = 2 * i + 1;
                if (c + 1 < n && v[c + 1] > v[c]) c++;
                if (v[i] >= v[c]) return;
                (v[i], v[c]) = (v[c], v[i]);
                i = c;
            }
        }
    }

    // Both work on differences to the first value, so that equal values have exactly that mean and a
    // standard deviation of exactly 0 (not a rounding residue like 1e-16 shown as a spread).
    public static double Mean(IReadOnlyList<double> x)
    {
        if (x.Count == 0) throw new InvalidOperationException("the mean of no values");
        double first = x[0], sum = 0;
        for (int i = 1; i < x.Count; i++) sum += x[i] - first;
        return first + sum / x.Count;
    }

    public static double StdDev(IReadOnlyList<double> x)
    {
        if (x.Count < 2) return 0;
        double first = x[0], sum = 0;
        for (int i = 1; i < x.Count; i++) sum += x[i] - first;
        double d = sum / x.Count, squares = 0;
        for (int i = 0; i < x.Count; i++) { double e = x[i] - first - d; squares += e * e; }
        return Math.Sqrt(squares / (x.Count - 1));
    }

    /// <summary>The 95% confidence interval of the mean (needs n ≥ 2; for n = 1, null).</summary>
    public static (double Low, double High)? Ci95(IReadOnlyList<double> x)
    {
        if (x.Count < 2) return null;
        double m = Mean(x), h = StudentQuantile(0.975, x.Count - 1) * StdDev(x) / Math.Sqrt(x.Count);
        return (m - h, m + h);
    }

    /// <summary>Welch's two-sample t-test: t, its Welch–Satterthwaite degrees of freedom, the two-sided p-value (null when either side has one value).</summary>
    public static (double T, double Df, double P)? Welch(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count < 2 || b.Count < 2) return null;
        double va = Square(StdDev(a)) / a.Count, vb = Square(StdDev(b)) / b.Count, diff = Mean(a) - Mean(b);
        if (va + vb == 0) return (diff == 0 ? 0 : Math.Sign(diff) * double.PositiveInfinity, a.Count + b.Count - 2, diff == 0 ? 1 : 0);
        double t = diff / Math.Sqrt(va + vb);
        double df = Square(va + vb) / (Square(va) / (a.Count - 1) + Square(vb) / (b.Count - 1));
        return (t, df, TwoSidedP(t, df));
    }

    /// <summary>The one-sample t-test of a mean against a single value (null when x has one value).</summary>
    public static (double T, double Df, double P)? OneSample(IReadOnlyList<double> x, double mu)
    {
        if (x.Count < 2) return null;
        double se = StdDev(x) / Math.Sqrt(x.Count), diff = Mean(x) - mu;
        if (se == 0) return (diff == 0 ? 0 : Math.Sign(diff) * double.PositiveInfinity, x.Count - 1, diff == 0 ? 1 : 0);
        double t = diff / se;
        return (t, x.Count - 1, TwoSidedP(t, x.Count - 1));
    }

    /// <summary>P(|T| ≥ |t|) for Student's t with <paramref name="df"/> degrees of freedom.</summary>
    public static double TwoSidedP(double t, double df) =>
        double.IsInfinity(t) ? 0 : RegularizedBeta(df / (df + t * t), df / 2, 0.5);

    /// <summary>P(T ≤ t).</summary>
    public static double StudentCdf(double t, double df)
    {
        double tail = TwoSidedP(t, df) / 2;
        return t >= 0 ? 1 - tail : tail;
    }

    /// <summary>The p-quantile of Student's t (bisection on the CDF: exact to 1e-12).</summary>
    public static double StudentQuantile(double p, double df)
    {
        double lo = -1e4, hi = 1e4;
        for (int i = 0; i < 200 && hi - lo > 1e-12; i++)
        {
            double mid = (lo + hi) / 2;
            if (StudentCdf(mid, df) < p) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    /// <summary>I_x(a, b), the regularized incomplete beta function.</summary>
    public static double RegularizedBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
        return x < (a + 1) / (a + b + 2) ? front * BetaFraction(x, a, b) / a : 1 - front * BetaFraction(1 - x, b, a) / b;
    }

    private static double BetaFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = 1 / (Math.Abs(d) < tiny ? tiny : d);
        double h = d;
        for (int m = 1; m <= 300; m++)
        {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + aa * d; d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = 1 + aa / c; if (Math.Abs(c) < tiny) c = tiny;
            h *= d * c;
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + aa * d; d = 1 / (Math.Abs(d) < tiny ? tiny : d);
            c = 1 + aa / c; if (Math.Abs(c) < tiny) c = tiny;
            double del = d * c;
            h *= del;
            if (Math.Abs(del - 1) < 1e-15) break;
        }
        return h;
    }

    /// <summary>ln Γ(x), Lanczos approximation (g = 7, n = 9), accurate to ~1e-15.</summary>
    public static double LogGamma(double x)
    {
        double[] g = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double sum = g[0];
        for (int i = 1; i < 9; i++) sum += g[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    private static double Square(double v) => v * v;
}

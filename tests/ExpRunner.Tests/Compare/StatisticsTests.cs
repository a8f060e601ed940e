using ExpRunner.Compare;

namespace ExpRunner.Tests.Compare;

/// <summary>The t distribution and the tests built on it, against an independent reference: the t density integrated numerically.</summary>
public class StatisticsTests
{
    /// <summary>
    /// P(T ≤ t) with no special function: with x = √df·tan θ the density is proportional to
    /// cos^(df−1) θ on (−π/2, π/2), so the CDF is the share of that integral below atan(t/√df)
    /// (Simpson's rule).
    /// </summary>
    private static double Cdf(double t, double df)
    {
        double Integral(double from, double to)
        {
            const int n = 200_000;
            double h = (to - from) / n, sum = 0;
            for (int i = 0; i <= n; i++)
                sum += Math.Pow(Math.Cos(from + i * h), df - 1) * (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2);
            return sum * h / 3;
        }
        return Integral(-Math.PI / 2, Math.Atan(t / Math.Sqrt(df))) / Integral(-Math.PI / 2, Math.PI / 2);
    }

    [Theory]
    [InlineData(0.5, 1.0)]
    [InlineData(1.7, 3.0)]
    [InlineData(-2.2, 7.5)]
    [InlineData(3.1, 29.0)]
    public void The_t_distribution_matches_its_density_integrated(double t, double df) =>
        Assert.Equal(Cdf(t, df), Statistics.StudentCdf(t, df), 8);

    [Theory]
    [InlineData(2.0, 4.302652729696)] // textbook values of t(0.975, df)
    [InlineData(4.0, 2.776445105198)]
    [InlineData(10.0, 2.228138851965)]
    [InlineData(30.0, 2.042272456301)]
    public void The_quantile_inverts_the_cdf(double df, double expected)
    {
        Assert.Equal(expected, Statistics.StudentQuantile(0.975, df), 9);
        Assert.Equal(0.975, Cdf(expected, df), 8);
    }

    [Fact]
    public void Welch_t_test_and_the_confidence_interval_follow_their_formulas()
    {
        double[] a = [0.902, 0.899, 0.911], b = [0.171, 0.165, 0.183, 0.169];
        var (t, df, p) = Statistics.Welch(a, b)!.Value;
        // var(a) = ((−0.002)² + (−0.005)² + 0.007²) / 2 = 0.000039 (mean 0.904); var(b) likewise by hand.
        double mb = (0.171 + 0.165 + 0.183 + 0.169) / 4;
        double va = 0.000039 / 3, vb = ((0.171 - mb) * (0.171 - mb) + (0.165 - mb) * (0.165 - mb) + (0.183 - mb) * (0.183 - mb) + (0.169 - mb) * (0.169 - mb)) / 3 / 4;
        Assert.Equal((0.904 - mb) / Math.Sqrt(va + vb), t, 9);
        Assert.Equal(Math.Pow(va + vb, 2) / (va * va / 2 + vb * vb / 3), df, 9);
        Assert.Equal(2 * (1 - Cdf(Math.Abs(t), df)), p, 8);
        Assert.True(p < 1e-6);
        var (low, high) = Statistics.Ci95(a)!.Value;
        Assert.Equal(0.904 - 4.302652729696 * Math.Sqrt(0.000039 / 3), low, 9);
        Assert.Equal(0.904 + 4.302652729696 * Math.Sqrt(0.000039 / 3), high, 9);
        Assert.Null(Statistics.Welch([1.0], b));
        Assert.Equal(1.0, Statistics.Welch([1.0, 1.0], [1.0, 1.0])!.Value.P);
        var one = Statistics.OneSample(a, 0.9)!.Value;
        Assert.Equal(2 * (1 - Cdf(Math.Abs(one.T), 2)), one.P, 8);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(20000)]
    public void Values_sort_in_total_order_whatever_order_they_come_in(int n)
    {
        var rng = new Random(n);
        double[] special = [double.NaN, -double.NaN, 0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, -double.Epsilon, 1.0, 1.0];
        var values = Enumerable.Range(0, n).Select(i => i % 7 == 0 ? special[rng.Next(special.Length)] : Math.Round(rng.NextDouble() * 20 - 10, i % 3)).ToArray();
        static long Bits(double v) { long b = BitConverter.DoubleToInt64Bits(v); return b ^ ((b >> 63) & long.MaxValue); }
        var expected = values.Select(Bits).Order().ToArray();
        foreach (var shuffled in new[] { values, values.Reverse().ToArray(), values.OrderBy(_ => rng.Next()).ToArray(), values.OrderBy(Bits).ToArray() })
        {
            var copy = shuffled.Select(v => v).ToArray();
            Statistics.SortTotal(copy);
            Assert.Equal(expected, copy.Select(Bits));
        }
        // Sorted already and in reverse (the quicksort's worst shapes for a poor pivot) stay fast and right.
        var ramp = Enumerable.Range(0, n).Select(i => (double)(i / 3)).Reverse().ToArray();
        Statistics.SortTotal(ramp);
        Assert.True(ramp.Zip(ramp.Skip(1)).All(p => p.First <= p.Second));
    }
}

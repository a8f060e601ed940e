using ExpRunner.Nn;

namespace ExpRunner.Tests.Nn;

/// <summary>The three matrix products against a naive triple loop, at awkward sizes.</summary>
public class GemmTests
{
    public static TheoryData<int, int, int, int> Shapes() => new()
    {
        { 1, 1, 1, 1 }, { 1, 17, 5, 1 }, { 17, 1, 5, 1 }, { 3, 5, 7, 1 }, { 4, 16, 8, 1 }, { 5, 33, 9, 1 },
        { 9, 31, 784, 1 }, { 100, 20, 784, 1 }, { 13, 10, 20, 1 }, { 128, 64, 128, 2 }, { 130, 70, 129, 2 }, { 7, 8, 3, 3 },
    };

    private static float[] Random(int n, int seed)
    {
        var rng = new Rng((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => (float)rng.Uniform(-1, 1)).ToArray();
    }

    [Theory, MemberData(nameof(Shapes))]
    public void A_times_B_transposed_matches_the_naive_product(int m, int n, int k, int threads)
    {
        var a = Random(m * k, 1); var b = Random(n * k, 2);
        var c = new float[m * n];
        Gemm.MultiplyTransposedB<float>(a, b, c, m, n, k, threads);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a[i * k + p] * b[j * k + p];
                Assert.Equal(s, c[i * n + j], 1e-3 * Math.Sqrt(k));
            }
    }

    [Theory, MemberData(nameof(Shapes))]
    public void A_transposed_times_B_matches_the_naive_product_and_accumulates(int m, int n, int k, int threads)
    {
        var a = Random(k * m, 3); var b = Random(k * n, 4);
        var c = new float[m * n];
        Gemm.MultiplyTransposedA<float>(a, b, c, m, n, k, threads);
        var c2 = (float[])c.Clone();
        Gemm.MultiplyTransposedA<float>(a, b, c2, m, n, k, threads, accumulate: true);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double)a[p * m + i] * b[p * n + j];
                Assert.Equal(s, c[i * n + j], 1e-3 * Math.Sqrt(k));
                Assert.Equal(2 * s, c2[i * n + j], 2e-3 * Math.Sqrt(k));
            }
    }

    [Theory, MemberData(nameof(Shapes))]
    public void A_times_B_matches_the_naive_product_in_double(int m, int n, int k, int threads)
    {
        var rng = new Rng(5);
        var a = Enumerable.Range(0, m * k).Select(_ => rng.Uniform(-1, 1)).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => rng.Uniform(-1, 1)).ToArray();
        var c = new double[m * n];
        Gemm.Multiply<double>(a, b, c, m, n, k, threads);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
                Assert.Equal(s, c[i * n + j], 1e-12 * k);
            }
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        int m = 256, n = 300, k = 200;
        var a = Random(m * k, 6); var b = Random(n * k, 7);
        var one = new float[m * n]; var two = new float[m * n];
        Gemm.MultiplyTransposedB<float>(a, b, one, m, n, k, 1);
        Gemm.MultiplyTransposedB<float>(a, b, two, m, n, k, 2);
        Assert.Equal(one, two);
        Gemm.Multiply<float>(a, b, one, m, k, k, 1);
        Gemm.Multiply<float>(a, b, two, m, k, k, 2);
        Assert.Equal(one, two);
    }
}

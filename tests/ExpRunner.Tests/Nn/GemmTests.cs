using System.Numerics;
using ExpRunner.Nn;

namespace ExpRunner.Tests.Nn;

/// <summary>
/// The three matrix products against a naive triple loop in double, in float and double, on each
/// kernel family (512-bit, 256-bit, scalar fallback), at awkward sizes: 1×N, N×1, sizes that are
/// not multiples of a vector or a register tile, k long enough for several cache blocks, and the
/// training shapes.
/// </summary>
public class GemmTests
{
    private static readonly (int M, int N, int K)[] Sizes =
    [
        (1, 1, 1), (1, 17, 5), (17, 1, 5), (1, 70, 300), (70, 1, 300), (3, 5, 7), (4, 16, 8), (5, 33, 9),
        (9, 31, 784), (100, 20, 784), (13, 10, 20), (12, 64, 130), (19, 47, 300), (37, 100, 513),
        (10, 784, 128), (128, 10, 512), (64, 128, 64),
    ];

    public static TheoryData<int, int, int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int, int, int>();
        foreach (int bits in new[] { 512, 256, 128 }) // 128: the scalar fallback
            foreach (var (m, n, k) in Sizes)
                data.Add(m, n, k, bits, m * n * k > 200_000 ? 2 : 1);
        data.Add(130, 70, 129, 512, 3);
        data.Add(130, 70, 129, 256, 3);
        return data;
    }

    private static double[] Random(int n, int seed)
    {
        var rng = new Rng((ulong)seed);
        var r = new double[n];
        for (int i = 0; i < n; i++) r[i] = rng.Uniform(-1, 1);
        return r;
    }

    private static T[] As<T>(double[] x) where T : INumber<T> => x.Select(T.CreateChecked).ToArray();

    /// <summary>Reference C(i,j) = Σ_p A(i,p)·B(p,j) with A(i,p) = a[ai(i,p)], B(p,j) = b[bi(p,j)].</summary>
    private static void AssertProduct<T>(T[] c, double[] a, Func<int, int, int> ai, double[] b, Func<int, int, int> bi,
        int m, int n, int k, double scale = 1) where T : INumber<T>
    {
        double tolerance = (typeof(T) == typeof(float) ? 2e-6 : 1e-14) * k;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[ai(i, p)] * b[bi(p, j)];
                double got = double.CreateChecked(c[i * n + j]);
                Assert.True(Math.Abs(scale * s - got) <= tolerance * scale,
                    $"C({i},{j}) = {got}, expected {scale * s} (m={m} n={n} k={k})");
            }
    }

    [Theory, MemberData(nameof(Cases))]
    public void A_times_B_transposed_matches_the_naive_product(int m, int n, int k, int bits, int threads)
    {
        ABt<float>(m, n, k, bits, threads);
        ABt<double>(m, n, k, bits, threads);
    }

    private static void ABt<T>(int m, int n, int k, int bits, int threads) where T : unmanaged, INumber<T>
    {
        double[] a = Random(m * k, 1), b = Random(n * k, 2);
        var c = new T[m * n];
        Gemm.MultiplyTransposedB<T>(As<T>(a), As<T>(b), c, m, n, k, threads, bits);
        AssertProduct(c, a, (i, p) => i * k + p, b, (p, j) => j * k + p, m, n, k);
    }

    [Theory, MemberData(nameof(Cases))]
    public void A_transposed_times_B_matches_the_naive_product_and_accumulates(int m, int n, int k, int bits, int threads)
    {
        AtB<float>(m, n, k, bits, threads);
        AtB<double>(m, n, k, bits, threads);
    }

    private static void AtB<T>(int m, int n, int k, int bits, int threads) where T : unmanaged, INumber<T>
    {
        double[] a = Random(k * m, 3), b = Random(k * n, 4);
        T[] ta = As<T>(a), tb = As<T>(b);
        var c = new T[m * n];
        Gemm.MultiplyTransposedA<T>(ta, tb, c, m, n, k, threads, vectorBits: bits);
        AssertProduct(c, a, (i, p) => p * m + i, b, (p, j) => p * n + j, m, n, k);
        Gemm.MultiplyTransposedA<T>(ta, tb, c, m, n, k, threads, accumulate: true, vectorBits: bits);
        AssertProduct(c, a, (i, p) => p * m + i, b, (p, j) => p * n + j, m, n, k, scale: 2);
    }

    [Theory, MemberData(nameof(Cases))]
    public void A_times_B_matches_the_naive_product(int m, int n, int k, int bits, int threads)
    {
        AB<float>(m, n, k, bits, threads);
        AB<double>(m, n, k, bits, threads);
    }

    private static void AB<T>(int m, int n, int k, int bits, int threads) where T : unmanaged, INumber<T>
    {
        double[] a = Random(m * k, 5), b = Random(k * n, 6);
        var c = new T[m * n];
        Array.Fill(c, T.CreateChecked(7)); // overwritten, not added to
        Gemm.Multiply<T>(As<T>(a), As<T>(b), c, m, n, k, threads, bits);
        AssertProduct(c, a, (i, p) => i * k + p, b, (p, j) => p * n + j, m, n, k);
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    public void Results_do_not_depend_on_the_thread_count(int bits)
    {
        int m = 259, n = 300, k = 270;
        float[] a = As<float>(Random(m * k, 6)), b = As<float>(Random(n * k, 7));
        float[] Run(int threads, Action<float[], int> product)
        {
            var c = new float[m * n];
            product(c, threads);
            return c;
        }
        void Same(Action<float[], int> product)
        {
            var one = Run(1, product);
            Assert.Equal(one, Run(2, product));
            Assert.Equal(one, Run(3, product));
        }
        Same((c, t) => Gemm.MultiplyTransposedB<float>(a, b, c, m, n, k, t, bits));
        Same((c, t) => Gemm.Multiply<float>(a, b, c, m, n, k, t, bits));
        Same((c, t) => Gemm.MultiplyTransposedA<float>(a, b, c, m, n, k, t, vectorBits: bits));
    }

    /// <summary>
    /// X·Wᵀ's dot-product kernel takes rows in tiles of 6, then 4, the rows past the last multiple of 4
    /// one by one: every row gets the bits it gets in a product of exactly 4 rows (a tile of 4) or, past
    /// the last multiple of 4, alone — whatever tile computes it (the same formula, element by element).
    /// </summary>
    [Theory]
    [InlineData(256, 784)]
    [InlineData(256, 100)]  // k not a multiple of the vector: the scalar tail
    [InlineData(128, 96)]   // the scalar fallback
    public void A_row_of_X_times_W_transposed_has_the_same_bits_in_every_tile(int bits, int k)
    {
        Same<float>(bits, k);
        Same<double>(bits, k);
    }

    /// <summary>
    /// δᵀ·X's axpy kernel takes rows of C in tiles of 6, 4 and 1 as they fit, and reads δ from its transpose when δ's
    /// rows are a page or more long (1024 units in float, 512 in double): a row has the same bits computed alone.
    /// </summary>
    [Theory]
    [InlineData(256, 100)]
    [InlineData(256, 300)] // k in two blocks
    [InlineData(256, 101)] // an odd k: the 6-row tile's last step alone
    [InlineData(128, 100)]
    public void A_row_of_delta_transposed_times_X_has_the_same_bits_in_every_tile(int bits, int k)
    {
        SameRows<float>(bits, k, [1, 2, 3, 5, 8, 9, 20, 23, 30, 120, 1024, 1030]);
        SameRows<double>(bits, k, [1, 5, 23, 512, 515]);
    }

    /// <summary>
    /// X·Wᵀ takes k in chunks sized by the L1 cache where a tile's rows do not fit in it: the same bits whatever the L1
    /// (16 KB: chunks of 256 floats; 32 KB; 48 KB; 1 MB: never chunked), k with and without a scalar tail.
    /// </summary>
    [Theory]
    [InlineData(784)]
    [InlineData(1100)]
    public void X_times_W_transposed_has_the_same_bits_whatever_the_L1_cache(int k)
    {
        SameForEveryL1<float>(k);
        SameForEveryL1<double>(k);
    }

    private static void SameForEveryL1<T>(int k) where T : unmanaged, INumber<T>
    {
        const int m = 31, n = 21; // four 6-row tiles, a 4-row one and 3 rows alone; pairs of columns and one alone
        var a = As<T>(Random(m * k, 21));
        var b = As<T>(Random(n * k, 22));
        int before = Cpu.L1DataBytes;
        try
        {
            Cpu.L1DataBytes = 1 << 20;
            var whole = new T[m * n];
            Gemm.MultiplyTransposedB<T>(a, b, whole, m, n, k, 1, 256);
            foreach (int l1 in new[] { 16384, 32768, 49152 })
            {
                Cpu.L1DataBytes = l1;
                var chunked = new T[m * n];
                Gemm.MultiplyTransposedB<T>(a, b, chunked, m, n, k, 1, 256);
                Assert.True(whole.AsSpan().SequenceEqual(chunked), $"L1 {l1 / 1024} KB, k {k}, {typeof(T).Name}");
            }
        }
        finally { Cpu.L1DataBytes = before; }
    }

    private static void SameRows<T>(int bits, int k, int[] units) where T : unmanaged, INumber<T>
    {
        const int n = 70; // the inputs: two-vector panels, then one vector, half a vector and single columns
        var x = As<T>(Random(k * n, 3));
        foreach (int m in units)
        {
            var d = As<T>(Random(k * m, 4 + m));
            var c = new T[m * n];
            Gemm.MultiplyTransposedA<T>(d, x, c, m, n, k, 1, vectorBits: bits);
            for (int i = 0; i < m; i++)
            {
                var column = new T[k];
                for (int p = 0; p < k; p++) column[p] = d[p * m + i];
                var row = new T[n];
                Gemm.MultiplyTransposedA<T>(column, x, row, 1, n, k, 1, vectorBits: bits);
                Assert.True(row.AsSpan().SequenceEqual(c.AsSpan(i * n, n)), $"row {i} of {m} ({bits} bits, k {k}, {typeof(T).Name})");
            }
        }
    }

    private static void Same<T>(int bits, int k) where T : unmanaged, INumber<T>
    {
        const int n = 21; // pairs of columns and one alone
        var b = As<T>(Random(n * k, 9));
        foreach (int m in new[] { 1, 4, 6, 8, 12, 13, 20, 24, 27, 100, 101 })
        {
            var a = As<T>(Random(m * k, 10 + m));
            var c = new T[m * n];
            Gemm.MultiplyTransposedB<T>(a, b, c, m, n, k, 1, bits);
            int tiled = m / 4 * 4;
            for (int i0 = 0; i0 < m; i0 += i0 < tiled ? 4 : 1)
            {
                int rows = i0 < tiled ? 4 : 1;
                var part = new T[rows * n];
                Gemm.MultiplyTransposedB<T>(a.AsSpan(i0 * k, rows * k), b, part, rows, n, k, 1, bits);
                Assert.True(part.AsSpan().SequenceEqual(c.AsSpan(i0 * n, rows * n)), $"rows {i0}..{i0 + rows - 1} of {m} (k {k}, {bits} bits, {typeof(T).Name})");
            }
        }
    }

    [Fact]
    public void A_buffer_smaller_than_its_shape_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(new float[5], new float[6], new float[6], 2, 3, 3));
        Assert.Contains("smaller than its shape", ex.Message);
    }

    [Theory]
    [InlineData(100, 20, 784, 2, 1)]   // a small network's batch: one thread (handing rows to another core costs more)
    [InlineData(128, 512, 784, 2, 2)]
    [InlineData(64, 128, 784, 3, 3)]
    [InlineData(12, 512, 784, 4, 2)]   // no more parts than tiles of 8 rows
    public void The_split_of_a_product_is_known_in_advance_and_covers_its_rows_once(int m, int n, int k, int threads, int parts)
    {
        Assert.Equal(parts, Gemm.Parts(m, n, k, threads));
        int next = 0;
        for (int p = 0; p < parts; p++)
        {
            var (start, end) = Gemm.Rows(m, parts, p);
            Assert.Equal(next, start);
            Assert.True(start % 8 == 0 && end > start, $"part {p}: rows {start}..{end}");
            next = end;
        }
        Assert.Equal(m, next);
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ExpRunner.Nn;

/// <summary>
/// The 512-bit kernels, used where the CPU has AVX-512. With 32 vector registers they hold larger
/// register tiles than the 256-bit kernels: 4×4 dot products (X·Wᵀ), 8 rows × 2 vectors of axpy
/// with A stored transposed (δᵀ·X) and 4 rows × 4 vectors with A row-major (δ·W), so each value
/// loaded from memory feeds four FMAs or more.
/// </summary>
public static partial class Gemm
{
    private const int Mr512 = 8;   // rows of C per axpy tile
    private const int Kc512 = 128; // k per block: B's panel of Kc rows × 2 vectors (16 KB in float) stays in L1

    /// <summary>
    /// Whether the 512-bit kernels run. Avx512F alone is enough: .NET reports Vector512 as not
    /// accelerated on CPUs whose clock drops under 512-bit code (Skylake-X, Cascade Lake) yet still
    /// compiles it to AVX-512, and for dense FMA work the wider vectors win there too.
    /// </summary>
    private static bool Wide<T>(int bits) where T : unmanaged =>
        (bits > 0 ? bits : Widest) >= 512 && (Vector512.IsHardwareAccelerated || Avx512F.IsSupported) && Vector512<T>.IsSupported;

    /// <summary>Axpy products take the 512-bit kernel once a row of C spans two vectors.</summary>
    private static bool UseAxpy512<T>(int bits, int n) where T : unmanaged => Wide<T>(bits) && n >= 2 * Vector512<T>.Count;

    /// <summary>
    /// Dot products take the 512-bit kernel when k is long enough to pay for reducing sixteen
    /// accumulators per tile (measured: k = 64 runs faster on the 256-bit kernel, k = 128 slower).
    /// </summary>
    private static bool UseDot512<T>(int bits, int k) where T : unmanaged => Wide<T>(bits) && k >= 8 * Vector512<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> x, Vector512<T> y, Vector512<T> acc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        return x * y + acc;
    }

    /// <summary>Rows [r0, r1) of C = A·Bᵀ (A [m,k], B [n,k]): 4 rows of A × 4 rows of B per tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotKernel512<T>(ref T a, ref T b, ref T c, int r0, int r1, int n, int k)
        where T : unmanaged, INumber<T>
    {
        int mc = RowBlock<T>(k);
        for (int i0 = r0; i0 < r1; i0 += mc)
            DotBlock512(ref a, ref b, ref c, i0, Math.Min(r1, i0 + mc), n, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotBlock512<T>(ref T a, ref T b, ref T c, int r0, int r1, int n, int k)
        where T : unmanaged, INumber<T>
    {
        int v = Vector512<T>.Count;
        int kv = k - k % v;
        // Rows of B in blocks that stay in L2 (about 128 KB), reused by every 4-row tile of A.
        int nc = Math.Max(4, (131072 / Unsafe.SizeOf<T>() / Math.Max(1, k)) & ~3);
        for (int j0 = 0; j0 < n; j0 += nc)
        {
            int j1 = Math.Min(n, j0 + nc);
            int i = r0;
            for (; i + 4 <= r1; i += 4)
            {
                ref T a0 = ref Unsafe.Add(ref a, (nint)i * k);
                ref T a1 = ref Unsafe.Add(ref a0, k);
                ref T a2 = ref Unsafe.Add(ref a1, k);
                ref T a3 = ref Unsafe.Add(ref a2, k);
                int j = j0;
                for (; j + 4 <= j1; j += 4)
                {
                    ref T b0 = ref Unsafe.Add(ref b, (nint)j * k);
                    ref T b1 = ref Unsafe.Add(ref b0, k);
                    ref T b2 = ref Unsafe.Add(ref b1, k);
                    ref T b3 = ref Unsafe.Add(ref b2, k);
                    Vector512<T> s00 = default, s01 = default, s02 = default, s03 = default,
                                 s10 = default, s11 = default, s12 = default, s13 = default,
                                 s20 = default, s21 = default, s22 = default, s23 = default,
                                 s30 = default, s31 = default, s32 = default, s33 = default;
                    for (int p = 0; p < kv; p += v)
                    {
                        var w0 = Vector512.LoadUnsafe(ref b0, (nuint)p);
                        var w1 = Vector512.LoadUnsafe(ref b1, (nuint)p);
                        var w2 = Vector512.LoadUnsafe(ref b2, (nuint)p);
                        var w3 = Vector512.LoadUnsafe(ref b3, (nuint)p);
                        var x = Vector512.LoadUnsafe(ref a0, (nuint)p);
                        s00 = Fma(x, w0, s00); s01 = Fma(x, w1, s01); s02 = Fma(x, w2, s02); s03 = Fma(x, w3, s03);
                        x = Vector512.LoadUnsafe(ref a1, (nuint)p);
                        s10 = Fma(x, w0, s10); s11 = Fma(x, w1, s11); s12 = Fma(x, w2, s12); s13 = Fma(x, w3, s13);
                        x = Vector512.LoadUnsafe(ref a2, (nuint)p);
                        s20 = Fma(x, w0, s20); s21 = Fma(x, w1, s21); s22 = Fma(x, w2, s22); s23 = Fma(x, w3, s23);
                        x = Vector512.LoadUnsafe(ref a3, (nuint)p);
                        s30 = Fma(x, w0, s30); s31 = Fma(x, w1, s31); s32 = Fma(x, w2, s32); s33 = Fma(x, w3, s33);
                    }
                    ref T c0 = ref Unsafe.Add(ref c, (nint)i * n + j);
                    Row4(ref c0, s00, s01, s02, s03, ref a0, ref b0, k, kv);
                    Row4(ref Unsafe.Add(ref c0, n), s10, s11, s12, s13, ref a1, ref b0, k, kv);
                    Row4(ref Unsafe.Add(ref c0, 2 * n), s20, s21, s22, s23, ref a2, ref b0, k, kv);
                    Row4(ref Unsafe.Add(ref c0, 3 * n), s30, s31, s32, s33, ref a3, ref b0, k, kv);
                }
                for (; j < j1; j++) // columns left over: 4 rows × 1 column, four accumulators
                {
                    ref T bj = ref Unsafe.Add(ref b, (nint)j * k);
                    Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default;
                    for (int p = 0; p < kv; p += v)
                    {
                        var w = Vector512.LoadUnsafe(ref bj, (nuint)p);
                        s0 = Fma(Vector512.LoadUnsafe(ref a0, (nuint)p), w, s0);
                        s1 = Fma(Vector512.LoadUnsafe(ref a1, (nuint)p), w, s1);
                        s2 = Fma(Vector512.LoadUnsafe(ref a2, (nuint)p), w, s2);
                        s3 = Fma(Vector512.LoadUnsafe(ref a3, (nuint)p), w, s3);
                    }
                    ref T cj = ref Unsafe.Add(ref c, (nint)i * n + j);
                    cj = Finish(s0, ref a0, ref bj, kv, k);
                    Unsafe.Add(ref cj, n) = Finish(s1, ref a1, ref bj, kv, k);
                    Unsafe.Add(ref cj, 2 * n) = Finish(s2, ref a2, ref bj, kv, k);
                    Unsafe.Add(ref cj, 3 * n) = Finish(s3, ref a3, ref bj, kv, k);
                }
            }
            for (; i < r1; i++)
            {
                ref T ai = ref Unsafe.Add(ref a, (nint)i * k);
                for (int j = j0; j < j1; j++)
                    Unsafe.Add(ref c, (nint)i * n + j) = Dot512(ref ai, ref Unsafe.Add(ref b, (nint)j * k), kv, k);
            }
        }
    }

    /// <summary>
    /// Four dot products of one row of A with four consecutive rows of B. With no scalar tail the
    /// four accumulators are reduced together (horizontal adds shared by all four rather than four
    /// separate reductions); otherwise each is finished like <see cref="Dot512"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4<T>(ref T c, Vector512<T> s0, Vector512<T> s1, Vector512<T> s2, Vector512<T> s3, ref T a, ref T b, int k, int kv)
        where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float) && kv == k && Avx.IsSupported)
        {
            var t0 = s0.GetLower().AsSingle() + s0.GetUpper().AsSingle();
            var t1 = s1.GetLower().AsSingle() + s1.GetUpper().AsSingle();
            var t2 = s2.GetLower().AsSingle() + s2.GetUpper().AsSingle();
            var t3 = s3.GetLower().AsSingle() + s3.GetUpper().AsSingle();
            var w = Avx.HorizontalAdd(Avx.HorizontalAdd(t0, t1), Avx.HorizontalAdd(t2, t3)); // per 128-bit half: Σt0, Σt1, Σt2, Σt3
            (w.GetLower() + w.GetUpper()).As<float, T>().StoreUnsafe(ref c);
            return;
        }
        if (typeof(T) == typeof(double) && kv == k && Avx.IsSupported)
        {
            var t0 = s0.GetLower().AsDouble() + s0.GetUpper().AsDouble();
            var t1 = s1.GetLower().AsDouble() + s1.GetUpper().AsDouble();
            var t2 = s2.GetLower().AsDouble() + s2.GetUpper().AsDouble();
            var t3 = s3.GetLower().AsDouble() + s3.GetUpper().AsDouble();
            var u = Avx.HorizontalAdd(t0, t1); // t0₀+t0₁, t1₀+t1₁, t0₂+t0₃, t1₂+t1₃
            var w = Avx.HorizontalAdd(t2, t3);
            (Avx.Permute2x128(u, w, 0x20) + Avx.Permute2x128(u, w, 0x31)).As<double, T>().StoreUnsafe(ref c); // Σt0, Σt1, Σt2, Σt3
            return;
        }
        c = Finish(s0, ref a, ref b, kv, k);
        Unsafe.Add(ref c, 1) = Finish(s1, ref a, ref Unsafe.Add(ref b, k), kv, k);
        Unsafe.Add(ref c, 2) = Finish(s2, ref a, ref Unsafe.Add(ref b, 2 * k), kv, k);
        Unsafe.Add(ref c, 3) = Finish(s3, ref a, ref Unsafe.Add(ref b, 3 * k), kv, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Finish<T>(Vector512<T> s, ref T x, ref T y, int kv, int k) where T : unmanaged, INumber<T> =>
        Tail(Vector512.Sum(s), ref x, ref y, kv, k);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Dot512<T>(ref T x, ref T y, int kv, int k) where T : unmanaged, INumber<T>
    {
        Vector512<T> s = default;
        for (int p = 0; p < kv; p += Vector512<T>.Count)
            s = Fma(Vector512.LoadUnsafe(ref x, (nuint)p), Vector512.LoadUnsafe(ref y, (nuint)p), s);
        return Finish(s, ref x, ref y, kv, k);
    }

    /// <summary>The axpy kernel over blocks of k; after the first block each block adds to C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AxpyBlocks512<T>(ref T a, int cs, ref T b, ref T c, int r0, int r1, int n, int k, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        for (int k0 = 0; k0 < k; k0 += Kc512)
            AxpyKernel512(ref Unsafe.Add(ref a, (nint)k0 * cs), cs, ref Unsafe.Add(ref b, (nint)k0 * n), ref c, r0, r1, n,
                Math.Min(Kc512, k - k0), accumulate || k0 > 0);
    }

    /// <summary>
    /// Rows [r0, r1) of C = A·B where A(i,p) = a[p·cs + i] (A stored transposed, so a tile's 8 rows
    /// are 8 consecutive values at each p) and B is row-major [k,n]. Register tile: 8 rows × 2
    /// vectors of C while p runs over k (broadcast A, stream B's row). Each element of C is one lane
    /// summed over p in order, whichever tile computes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AxpyKernel512<T>(ref T a, int cs, ref T b, ref T c, int r0, int r1, int n, int k, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        int v = Vector512<T>.Count;
        int j = 0;
        for (; j + 2 * v <= n; j += 2 * v)
        {
            int i = r0;
            for (; i + Mr512 <= r1; i += Mr512)
            {
                Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default,
                             c20 = default, c21 = default, c30 = default, c31 = default,
                             c40 = default, c41 = default, c50 = default, c51 = default,
                             c60 = default, c61 = default, c70 = default, c71 = default;
                ref T ap = ref Unsafe.Add(ref a, i);
                ref T bp = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    var b0 = Vector512.LoadUnsafe(ref bp);
                    var b1 = Vector512.LoadUnsafe(ref bp, (nuint)v);
                    var x = Vector512.Create(ap); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
                    x = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
                    x = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
                    x = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
                    x = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                    x = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
                    x = Vector512.Create(Unsafe.Add(ref ap, 6)); c60 = Fma(x, b0, c60); c61 = Fma(x, b1, c61);
                    x = Vector512.Create(Unsafe.Add(ref ap, 7)); c70 = Fma(x, b0, c70); c71 = Fma(x, b1, c71);
                    ap = ref Unsafe.Add(ref ap, cs);
                    bp = ref Unsafe.Add(ref bp, n);
                }
                ref T dst = ref Unsafe.Add(ref c, (nint)i * n + j);
                Store(ref dst, v, c00, c01, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c10, c11, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c20, c21, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c30, c31, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c40, c41, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c50, c51, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c60, c61, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c70, c71, accumulate);
            }
            for (; i + 4 <= r1; i += 4)
            {
                Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default,
                             c20 = default, c21 = default, c30 = default, c31 = default;
                ref T ap = ref Unsafe.Add(ref a, i);
                ref T bp = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    var b0 = Vector512.LoadUnsafe(ref bp);
                    var b1 = Vector512.LoadUnsafe(ref bp, (nuint)v);
                    var x = Vector512.Create(ap); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
                    x = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
                    x = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
                    x = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
                    ap = ref Unsafe.Add(ref ap, cs);
                    bp = ref Unsafe.Add(ref bp, n);
                }
                ref T dst = ref Unsafe.Add(ref c, (nint)i * n + j);
                Store(ref dst, v, c00, c01, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c10, c11, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c20, c21, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store(ref dst, v, c30, c31, accumulate);
            }
            for (; i + 2 <= r1; i += 2)
            {
                Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default;
                ref T ap = ref Unsafe.Add(ref a, i);
                ref T bp = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    var b0 = Vector512.LoadUnsafe(ref bp);
                    var b1 = Vector512.LoadUnsafe(ref bp, (nuint)v);
                    var x = Vector512.Create(ap); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
                    x = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
                    ap = ref Unsafe.Add(ref ap, cs);
                    bp = ref Unsafe.Add(ref bp, n);
                }
                ref T dst = ref Unsafe.Add(ref c, (nint)i * n + j);
                Store(ref dst, v, c00, c01, accumulate);
                Store(ref Unsafe.Add(ref dst, n), v, c10, c11, accumulate);
            }
            for (; i < r1; i++)
            {
                Vector512<T> c0 = default, c1 = default;
                ref T ap = ref Unsafe.Add(ref a, i);
                ref T bp = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    var x = Vector512.Create(ap);
                    c0 = Fma(x, Vector512.LoadUnsafe(ref bp), c0);
                    c1 = Fma(x, Vector512.LoadUnsafe(ref bp, (nuint)v), c1);
                    ap = ref Unsafe.Add(ref ap, cs);
                    bp = ref Unsafe.Add(ref bp, n);
                }
                Store(ref Unsafe.Add(ref c, (nint)i * n + j), v, c0, c1, accumulate);
            }
        }
        for (; j + v <= n; j += v)
        {
            for (int i = r0; i < r1; i++)
            {
                Vector512<T> c0 = default;
                ref T ap = ref Unsafe.Add(ref a, i);
                ref T bp = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    c0 = Fma(Vector512.Create(ap), Vector512.LoadUnsafe(ref bp), c0);
                    ap = ref Unsafe.Add(ref ap, cs);
                    bp = ref Unsafe.Add(ref bp, n);
                }
                ref T dst = ref Unsafe.Add(ref c, (nint)i * n + j);
                if (accumulate) c0 += Vector512.LoadUnsafe(ref dst);
                c0.StoreUnsafe(ref dst);
            }
        }
        for (; j < n; j++) // columns left over: scalar, same order of p
        {
            for (int i = r0; i < r1; i++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                    sum += Unsafe.Add(ref a, (nint)p * cs + i) * Unsafe.Add(ref b, (nint)p * n + j);
                ref T dst = ref Unsafe.Add(ref c, (nint)i * n + j);
                dst = accumulate ? dst + sum : sum;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T dst, int v, Vector512<T> x0, Vector512<T> x1, bool accumulate) where T : unmanaged
    {
        if (accumulate)
        {
            x0 += Vector512.LoadUnsafe(ref dst);
            x1 += Vector512.LoadUnsafe(ref dst, (nuint)v);
        }
        x0.StoreUnsafe(ref dst);
        x1.StoreUnsafe(ref dst, (nuint)v);
    }

    private const int KcRows512 = 64; // k per block of the row-major kernel: B's panel of 64 rows × 4 vectors (16 KB in float)

    /// <summary>The row-major axpy kernel over blocks of k; after the first block each block adds to C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AxpyRowsBlocks512<T>(ref T a, int rs, ref T b, ref T c, int r0, int r1, int n, int k, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        for (int k0 = 0; k0 < k; k0 += KcRows512)
            AxpyRowsKernel512(ref Unsafe.Add(ref a, k0), rs, ref Unsafe.Add(ref b, (nint)k0 * n), ref c, r0, r1, n,
                Math.Min(KcRows512, k - k0), accumulate || k0 > 0);
    }

    /// <summary>
    /// Rows [r0, r1) of C = A·B with A row-major (A(i,p) = a[i·rs + p]) and B row-major [k,n], for
    /// column blocks four vectors wide: 4 rows × 4 vectors of C in registers while p runs over k.
    /// Columns past the last full block are left to the caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AxpyRowsKernel512<T>(ref T a, int rs, ref T b, ref T c, int r0, int r1, int n, int k, bool accumulate)
        where T : unmanaged, INumber<T>
    {
        int v = Vector512<T>.Count;
        for (int j = 0; j + 4 * v <= n; j += 4 * v)
        {
            int i = r0;
            for (; i + 4 <= r1; i += 4)
            {
                Vector512<T> c00 = default, c01 = default, c02 = default, c03 = default,
                             c10 = default, c11 = default, c12 = default, c13 = default,
                             c20 = default, c21 = default, c22 = default, c23 = default,
                             c30 = default, c31 = default, c32 = default, c33 = default;
                ref T a0 = ref Unsafe.Add(ref a, (nint)i * rs);
                ref T a1 = ref Unsafe.Add(ref a0, rs);
                ref T a2 = ref Unsafe.Add(ref a1, rs);
                ref T a3 = ref Unsafe.Add(ref a2, rs);
                ref T bp = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    var b0 = Vector512.LoadUnsafe(ref bp);
                    var b1 = Vector512.LoadUnsafe(ref bp, (nuint)v);
                    var b2 = Vector512.LoadUnsafe(ref bp, (nuint)(2 * v));
                    var b3 = Vector512.LoadUnsafe(ref bp, (nuint)(3 * v));
                    var x = Vector512.Create(Unsafe.Add(ref a0, p));
                    c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01); c02 = Fma(x, b2, c02); c03 = Fma(x, b3, c03);
                    x = Vector512.Create(Unsafe.Add(ref a1, p));
                    c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11); c12 = Fma(x, b2, c12); c13 = Fma(x, b3, c13);
                    x = Vector512.Create(Unsafe.Add(ref a2, p));
                    c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21); c22 = Fma(x, b2, c22); c23 = Fma(x, b3, c23);
                    x = Vector512.Create(Unsafe.Add(ref a3, p));
                    c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31); c32 = Fma(x, b2, c32); c33 = Fma(x, b3, c33);
                    bp = ref Unsafe.Add(ref bp, n);
                }
                ref T dst = ref Unsafe.Add(ref c, (nint)i * n + j);
                Store4(ref dst, v, c00, c01, c02, c03, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store4(ref dst, v, c10, c11, c12, c13, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store4(ref dst, v, c20, c21, c22, c23, accumulate); dst = ref Unsafe.Add(ref dst, n);
                Store4(ref dst, v, c30, c31, c32, c33, accumulate);
            }
            for (; i < r1; i++)
            {
                Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default;
                ref T ai = ref Unsafe.Add(ref a, (nint)i * rs);
                ref T bp = ref Unsafe.Add(ref b, j);
                for (int p = 0; p < k; p++)
                {
                    var x = Vector512.Create(Unsafe.Add(ref ai, p));
                    c0 = Fma(x, Vector512.LoadUnsafe(ref bp), c0);
                    c1 = Fma(x, Vector512.LoadUnsafe(ref bp, (nuint)v), c1);
                    c2 = Fma(x, Vector512.LoadUnsafe(ref bp, (nuint)(2 * v)), c2);
                    c3 = Fma(x, Vector512.LoadUnsafe(ref bp, (nuint)(3 * v)), c3);
                    bp = ref Unsafe.Add(ref bp, n);
                }
                Store4(ref Unsafe.Add(ref c, (nint)i * n + j), v, c0, c1, c2, c3, accumulate);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4<T>(ref T dst, int v, Vector512<T> x0, Vector512<T> x1, Vector512<T> x2, Vector512<T> x3, bool accumulate)
        where T : unmanaged
    {
        Store(ref dst, v, x0, x1, accumulate);
        Store(ref Unsafe.Add(ref dst, 2 * v), v, x2, x3, accumulate);
    }
}

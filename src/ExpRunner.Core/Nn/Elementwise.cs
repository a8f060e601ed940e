using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ExpRunner.Nn;

/// <summary>
/// Hand-vectorised element-wise passes of the training path, each one pass over memory. They are
/// ours rather than TensorPrimitives calls so that everything a batch runs is compiled optimised
/// from its first call (the library's generic helpers start in unoptimised code and are tiered
/// up only after a delay, which slowed the first epochs of small networks by a third). Spans are
/// read up to the length of the first argument.
/// </summary>
internal static class Elementwise
{
    /// <summary>out = z &gt; 0 ? x : slope·y (leaky ReLU forward with x = y = z; its backward with x = y = dA).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Where<T>(ReadOnlySpan<T> z, ReadOnlySpan<T> x, ReadOnlySpan<T> y, T slope, Span<T> output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = z.Length, i = 0;
        Fits(len, x.Length, y.Length, output.Length);
        ref T pz = ref MemoryMarshal.GetReference(z), px = ref MemoryMarshal.GetReference(x),
              py = ref MemoryMarshal.GetReference(y), po = ref MemoryMarshal.GetReference(output);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var s = Vector256.Create(slope);
            for (; i + Vector256<T>.Count <= len; i += Vector256<T>.Count)
            {
                var mask = Vector256.GreaterThan(Vector256.LoadUnsafe(ref pz, (nuint)i), Vector256<T>.Zero);
                Vector256.ConditionalSelect(mask, Vector256.LoadUnsafe(ref px, (nuint)i), s * Vector256.LoadUnsafe(ref py, (nuint)i))
                    .StoreUnsafe(ref po, (nuint)i);
            }
        }
        for (; i < len; i++)
            Unsafe.Add(ref po, i) = Unsafe.Add(ref pz, i) > T.Zero ? Unsafe.Add(ref px, i) : slope * Unsafe.Add(ref py, i);
    }

    /// <summary>a = 1 / (1 + e^−z), one pass (vectorised in float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sigmoid<T>(ReadOnlySpan<T> z, Span<T> a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = z.Length, i = 0;
        Fits(len, a.Length, len, len);
        ref T pz = ref MemoryMarshal.GetReference(z), pa = ref MemoryMarshal.GetReference(a);
        if (typeof(T) == typeof(float))
        {
            ref float zf = ref Unsafe.As<T, float>(ref pz), af = ref Unsafe.As<T, float>(ref pa);
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= len; i += 8)
                    (Vector256<float>.One / (Vector256<float>.One + Exp(-Vector256.LoadUnsafe(ref zf, (nuint)i)))).StoreUnsafe(ref af, (nuint)i);
        }
        for (; i < len; i++) Unsafe.Add(ref pa, i) = T.One / (T.One + T.Exp(-Unsafe.Add(ref pz, i)));
    }

    // e^x in float: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for exactness), e^r by a
    // degree-7 polynomial (Cephes expf coefficients, about 1 ulp), 2^n put into the exponent bits.
    // Ours rather than Vector256.Exp, whose library helpers are not inlined and start unoptimised.
    // 256 bits wide only: these passes are a small share of a batch, and a 512-bit copy measured no faster.
    private const float ExpHi = 88.3762626647949f, ExpLo = -87.3365447504019f, Log2E = 1.44269504088896341f,
        Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f,
        P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp(Vector256<float> x)
    {
        var c = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpLo)), Vector256.Create(ExpHi));
        var n = Vector256.Round(c * Vector256.Create(Log2E));
        var r = c - n * Vector256.Create(Ln2Hi) - n * Vector256.Create(Ln2Lo);
        var p = Vector256.Create(P0);
        p = p * r + Vector256.Create(P1); p = p * r + Vector256.Create(P2); p = p * r + Vector256.Create(P3);
        p = p * r + Vector256.Create(P4); p = p * r + Vector256.Create(P5);
        p = p * (r * r) + r + Vector256<float>.One;
        var scale = ((Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23).AsSingle();
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), p * scale, x);
    }

    /// <summary>Adds the row vector <paramref name="bias"/> [cols] to every row of z [rows, cols], in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddToRows<T>(Span<T> z, ReadOnlySpan<T> bias, int rows, int cols) where T : unmanaged, INumber<T>
    {
        Fits(rows * cols, z.Length, rows * cols, rows * cols);
        Fits(cols, bias.Length, cols, cols);
        ref T pz = ref MemoryMarshal.GetReference(z), pb = ref MemoryMarshal.GetReference(bias);
        int v = Vector256<T>.Count, vectors = Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported ? cols - cols % v : 0;
        for (int r = 0; r < rows; r++)
        {
            ref T row = ref Unsafe.Add(ref pz, (nint)r * cols);
            int c = 0;
            for (; c < vectors; c += v)
                (Vector256.LoadUnsafe(ref row, (nuint)c) + Vector256.LoadUnsafe(ref pb, (nuint)c)).StoreUnsafe(ref row, (nuint)c);
            for (; c < cols; c++) Unsafe.Add(ref row, c) += Unsafe.Add(ref pb, c);
        }
    }

    /// <summary>dst = src·scale for bytes widened to T, one pass (pixels to features).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleBytes<T>(ReadOnlySpan<byte> src, Span<T> dst, T scale) where T : unmanaged, INumber<T>
    {
        int len = src.Length, i = 0;
        Fits(len, dst.Length, len, len);
        ref byte ps = ref MemoryMarshal.GetReference(src);
        ref T pd = ref MemoryMarshal.GetReference(dst);
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            ref float pf = ref Unsafe.As<T, float>(ref pd);
            var s = Vector256.Create(float.CreateTruncating(scale));
            for (; i + 32 <= len; i += 32)
            {
                var (w0, w1) = Vector256.Widen(Vector256.LoadUnsafe(ref ps, (nuint)i));
                var (q0, q1) = Vector256.Widen(w0);
                var (q2, q3) = Vector256.Widen(w1);
                (Vector256.ConvertToSingle(q0.AsInt32()) * s).StoreUnsafe(ref pf, (nuint)i);
                (Vector256.ConvertToSingle(q1.AsInt32()) * s).StoreUnsafe(ref pf, (nuint)(i + 8));
                (Vector256.ConvertToSingle(q2.AsInt32()) * s).StoreUnsafe(ref pf, (nuint)(i + 16));
                (Vector256.ConvertToSingle(q3.AsInt32()) * s).StoreUnsafe(ref pf, (nuint)(i + 24));
            }
        }
        else if (typeof(T) == typeof(double) && Avx2.IsSupported)
        {
            // Zero-extend 8 bytes to 8 ints, convert 4 at a time to double (exact), scale: as the scalar loop computes it.
            ref double pf = ref Unsafe.As<T, double>(ref pd);
            var s = Vector256.Create(double.CreateTruncating(scale));
            for (; i + 16 <= len; i += 16)
            {
                var b = Vector128.LoadUnsafe(ref ps, (nuint)i);
                var lo = Avx2.ConvertToVector256Int32(b);
                var hi = Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(b, 8));
                (Avx.ConvertToVector256Double(lo.GetLower()) * s).StoreUnsafe(ref pf, (nuint)i);
                (Avx.ConvertToVector256Double(lo.GetUpper()) * s).StoreUnsafe(ref pf, (nuint)(i + 4));
                (Avx.ConvertToVector256Double(hi.GetLower()) * s).StoreUnsafe(ref pf, (nuint)(i + 8));
                (Avx.ConvertToVector256Double(hi.GetUpper()) * s).StoreUnsafe(ref pf, (nuint)(i + 12));
            }
        }
        for (; i < len; i++) Unsafe.Add(ref pd, i) = T.CreateTruncating(Unsafe.Add(ref ps, i)) * scale;
    }

    /// <summary>dZ = dA·a·(1 − a), the sigmoid's backward from its output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidBackward<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> dA, Span<T> dZ) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = a.Length, i = 0;
        Fits(len, dA.Length, dZ.Length, len);
        ref T pa = ref MemoryMarshal.GetReference(a), pd = ref MemoryMarshal.GetReference(dA), po = ref MemoryMarshal.GetReference(dZ);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            for (; i + Vector256<T>.Count <= len; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref pa, (nuint)i);
                (Vector256.LoadUnsafe(ref pd, (nuint)i) * v * (Vector256<T>.One - v)).StoreUnsafe(ref po, (nuint)i);
            }
        }
        for (; i < len; i++)
        {
            T v = Unsafe.Add(ref pa, i);
            Unsafe.Add(ref po, i) = Unsafe.Add(ref pd, i) * v * (T.One - v);
        }
    }

    /// <summary>dZ = dA·(1 − a²), tanh's backward from its output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TanhBackward<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> dA, Span<T> dZ) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = a.Length, i = 0;
        Fits(len, dA.Length, dZ.Length, len);
        ref T pa = ref MemoryMarshal.GetReference(a), pd = ref MemoryMarshal.GetReference(dA), po = ref MemoryMarshal.GetReference(dZ);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            for (; i + Vector256<T>.Count <= len; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref pa, (nuint)i);
                (Vector256.LoadUnsafe(ref pd, (nuint)i) * (Vector256<T>.One - v * v)).StoreUnsafe(ref po, (nuint)i);
            }
        }
        for (; i < len; i++)
        {
            T v = Unsafe.Add(ref pa, i);
            Unsafe.Add(ref po, i) = Unsafe.Add(ref pd, i) * (T.One - v * v);
        }
    }

    /// <summary>output = x − y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Subtract<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> output) where T : unmanaged, INumber<T>
    {
        int len = x.Length, i = 0;
        Fits(len, y.Length, output.Length, len);
        ref T px = ref MemoryMarshal.GetReference(x), py = ref MemoryMarshal.GetReference(y), po = ref MemoryMarshal.GetReference(output);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i + Vector256<T>.Count <= len; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref px, (nuint)i) - Vector256.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref po, (nuint)i);
        for (; i < len; i++) Unsafe.Add(ref po, i) = Unsafe.Add(ref px, i) - Unsafe.Add(ref py, i);
    }

    /// <summary>x = x·s, in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale<T>(Span<T> x, T s) where T : unmanaged, INumber<T>
    {
        int len = x.Length, i = 0;
        ref T px = ref MemoryMarshal.GetReference(x);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var sv = Vector256.Create(s);
            for (; i + Vector256<T>.Count <= len; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref px, (nuint)i) * sv).StoreUnsafe(ref px, (nuint)i);
        }
        for (; i < len; i++) Unsafe.Add(ref px, i) *= s;
    }

    /// <summary>p = g·s + p (multiply, then add: not fused, so the result is the same on every CPU).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyAdd<T>(ReadOnlySpan<T> g, T s, Span<T> p) where T : unmanaged, INumber<T>
    {
        int len = g.Length, i = 0;
        Fits(len, p.Length, len, len);
        ref T pg = ref MemoryMarshal.GetReference(g), pp = ref MemoryMarshal.GetReference(p);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var sv = Vector256.Create(s);
            for (; i + Vector256<T>.Count <= len; i += Vector256<T>.Count)
                (Vector256.LoadUnsafe(ref pg, (nuint)i) * sv + Vector256.LoadUnsafe(ref pp, (nuint)i)).StoreUnsafe(ref pp, (nuint)i);
        }
        for (; i < len; i++) Unsafe.Add(ref pp, i) = Unsafe.Add(ref pg, i) * s + Unsafe.Add(ref pp, i);
    }

    /// <summary>sum [cols] = Σ over the rows of x [rows, cols], row after row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SumRows<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> sum) where T : unmanaged, INumber<T>
    {
        Fits(rows * cols, x.Length, rows * cols, rows * cols);
        Fits(cols, sum.Length, cols, cols);
        sum[..cols].Clear();
        ref T px = ref MemoryMarshal.GetReference(x), ps = ref MemoryMarshal.GetReference(sum);
        int v = Vector256<T>.Count, vectors = Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported ? cols - cols % v : 0;
        for (int r = 0; r < rows; r++)
        {
            ref T row = ref Unsafe.Add(ref px, (nint)r * cols);
            int c = 0;
            for (; c < vectors; c += v)
                (Vector256.LoadUnsafe(ref ps, (nuint)c) + Vector256.LoadUnsafe(ref row, (nuint)c)).StoreUnsafe(ref ps, (nuint)c);
            for (; c < cols; c++) Unsafe.Add(ref ps, c) += Unsafe.Add(ref row, c);
        }
    }

    /// <summary>Row-wise softmax of z [rows, cols] into a: shift by the row's maximum, exponentials over the whole batch, normalise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax<T>(ReadOnlySpan<T> z, Span<T> a, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = rows * cols;
        Fits(len, z.Length, a.Length, len);
        for (int r = 0; r < rows; r++)
        {
            var zr = z.Slice(r * cols, cols);
            var ar = a.Slice(r * cols, cols);
            T max = zr[0];
            for (int c = 1; c < cols; c++) if (zr[c] > max) max = zr[c];
            for (int c = 0; c < cols; c++) ar[c] = zr[c] - max;
        }
        Exp(a[..len]);
        for (int r = 0; r < rows; r++)
        {
            var ar = a.Slice(r * cols, cols);
            T sum = T.Zero;
            for (int c = 0; c < cols; c++) sum += ar[c];
            for (int c = 0; c < cols; c++) ar[c] /= sum;
        }
    }

    /// <summary>x = e^x, in place (vectorised in float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Exp<T>(Span<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = x.Length, i = 0;
        ref T px = ref MemoryMarshal.GetReference(x);
        if (typeof(T) == typeof(float))
        {
            ref float pf = ref Unsafe.As<T, float>(ref px);
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= len; i += 8) Exp(Vector256.LoadUnsafe(ref pf, (nuint)i)).StoreUnsafe(ref pf, (nuint)i);
        }
        for (; i < len; i++) Unsafe.Add(ref px, i) = T.Exp(Unsafe.Add(ref px, i));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fits(int len, int b, int c, int d)
    {
        if (b < len || c < len || d < len) Shorter();
    }

    [DoesNotReturn]
    private static void Shorter() => throw new ArgumentException("element-wise operand shorter than its input");

    // Reductions for the probes, summed in double whatever T is (a float32 run's norms are exact to
    // float64 rounding of its float32 values), four accumulators deep so the adds' latency does not
    // bound them: Σ w² and Σ g² while w is copied (one pass), Σ (x − y)², Σ x, Σ (x − m)².

    /// <summary>Σ w², Σ g² (g read up to w's length), and w copied to <paramref name="copy"/> — one pass, in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double W, double G) SquaresAndCopy<T>(ReadOnlySpan<T> w, ReadOnlySpan<T> g, Span<T> copy) where T : unmanaged, INumber<T>
    {
        int len = w.Length, i = 0;
        Fits(len, g.Length, len, len);
        Fits(len, copy.Length, len, len);
        Vector256<double> w0 = default, w1 = default, g0 = default, g1 = default;
        if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(float))
        {
            ref float pw = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(w)), pg = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(g));
            ref float pc = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(copy));
            for (; i + 8 <= len; i += 8)
            {
                var wv = Vector256.LoadUnsafe(ref pw, (nuint)i);
                wv.StoreUnsafe(ref pc, (nuint)i);
                var (wl, wh) = Vector256.Widen(wv);
                var (gl, gh) = Vector256.Widen(Vector256.LoadUnsafe(ref pg, (nuint)i));
                w0 += wl * wl; w1 += wh * wh; g0 += gl * gl; g1 += gh * gh;
            }
        }
        else if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(double))
        {
            ref double pw = ref Unsafe.As<T, double>(ref MemoryMarshal.GetReference(w)), pg = ref Unsafe.As<T, double>(ref MemoryMarshal.GetReference(g));
            ref double pc = ref Unsafe.As<T, double>(ref MemoryMarshal.GetReference(copy));
            for (; i + 8 <= len; i += 8)
            {
                var a = Vector256.LoadUnsafe(ref pw, (nuint)i); var b = Vector256.LoadUnsafe(ref pw, (nuint)i + 4);
                a.StoreUnsafe(ref pc, (nuint)i); b.StoreUnsafe(ref pc, (nuint)i + 4);
                var c = Vector256.LoadUnsafe(ref pg, (nuint)i); var d = Vector256.LoadUnsafe(ref pg, (nuint)i + 4);
                w0 += a * a; w1 += b * b; g0 += c * c; g1 += d * d;
            }
        }
        double sw = Vector256.Sum(w0 + w1), sg = Vector256.Sum(g0 + g1);
        for (; i < len; i++)
        {
            copy[i] = w[i];
            double x = double.CreateTruncating(w[i]), y = double.CreateTruncating(g[i]);
            sw += x * x; sg += y * y;
        }
        return (sw, sg);
    }

    /// <summary>Σ (x − m)² in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumOfSquares<T>(ReadOnlySpan<T> x, double m = 0) where T : unmanaged, INumber<T>
    {
        int len = x.Length, i = 0;
        Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
        var mv = Vector256.Create(m);
        if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(float))
        {
            ref float px = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x));
            for (; i + 16 <= len; i += 16)
            {
                var (l0, h0) = Vector256.Widen(Vector256.LoadUnsafe(ref px, (nuint)i));
                var (l1, h1) = Vector256.Widen(Vector256.LoadUnsafe(ref px, (nuint)i + 8));
                l0 -= mv; h0 -= mv; l1 -= mv; h1 -= mv;
                a0 += l0 * l0; a1 += h0 * h0; a2 += l1 * l1; a3 += h1 * h1;
            }
        }
        else if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(double))
        {
            ref double px = ref Unsafe.As<T, double>(ref MemoryMarshal.GetReference(x));
            for (; i + 16 <= len; i += 16)
            {
                var b0 = Vector256.LoadUnsafe(ref px, (nuint)i) - mv; var b1 = Vector256.LoadUnsafe(ref px, (nuint)i + 4) - mv;
                var b2 = Vector256.LoadUnsafe(ref px, (nuint)i + 8) - mv; var b3 = Vector256.LoadUnsafe(ref px, (nuint)i + 12) - mv;
                a0 += b0 * b0; a1 += b1 * b1; a2 += b2 * b2; a3 += b3 * b3;
            }
        }
        double sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        for (; i < len; i++) { double d = double.CreateTruncating(x[i]) - m; sum += d * d; }
        return sum;
    }

    /// <summary>Σ (x − y)² in double (y read up to x's length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SquaredDistance<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, INumber<T>
    {
        int len = x.Length, i = 0;
        Fits(len, y.Length, len, len);
        Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
        if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(float))
        {
            ref float px = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x)), py = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(y));
            for (; i + 16 <= len; i += 16)
            {
                var (x0, x1) = Vector256.Widen(Vector256.LoadUnsafe(ref px, (nuint)i));
                var (y0, y1) = Vector256.Widen(Vector256.LoadUnsafe(ref py, (nuint)i));
                var (x2, x3) = Vector256.Widen(Vector256.LoadUnsafe(ref px, (nuint)i + 8));
                var (y2, y3) = Vector256.Widen(Vector256.LoadUnsafe(ref py, (nuint)i + 8));
                x0 -= y0; x1 -= y1; x2 -= y2; x3 -= y3;
                a0 += x0 * x0; a1 += x1 * x1; a2 += x2 * x2; a3 += x3 * x3;
            }
        }
        else if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(double))
        {
            ref double px = ref Unsafe.As<T, double>(ref MemoryMarshal.GetReference(x)), py = ref Unsafe.As<T, double>(ref MemoryMarshal.GetReference(y));
            for (; i + 16 <= len; i += 16)
            {
                var b0 = Vector256.LoadUnsafe(ref px, (nuint)i) - Vector256.LoadUnsafe(ref py, (nuint)i);
                var b1 = Vector256.LoadUnsafe(ref px, (nuint)i + 4) - Vector256.LoadUnsafe(ref py, (nuint)i + 4);
                var b2 = Vector256.LoadUnsafe(ref px, (nuint)i + 8) - Vector256.LoadUnsafe(ref py, (nuint)i + 8);
                var b3 = Vector256.LoadUnsafe(ref px, (nuint)i + 12) - Vector256.LoadUnsafe(ref py, (nuint)i + 12);
                a0 += b0 * b0; a1 += b1 * b1; a2 += b2 * b2; a3 += b3 * b3;
            }
        }
        double sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        for (; i < len; i++) { double d = double.CreateTruncating(x[i]) - double.CreateTruncating(y[i]); sum += d * d; }
        return sum;
    }

    /// <summary>Σ x in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Sum<T>(ReadOnlySpan<T> x) where T : unmanaged, INumber<T>
    {
        int len = x.Length, i = 0;
        Vector256<double> a0 = default, a1 = default;
        if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(float))
        {
            ref float px = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(x));
            for (; i + 8 <= len; i += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref px, (nuint)i));
                a0 += lo; a1 += hi;
            }
        }
        else if (Vector256.IsHardwareAccelerated && typeof(T) == typeof(double))
        {
            ref double px = ref Unsafe.As<T, double>(ref MemoryMarshal.GetReference(x));
            for (; i + 8 <= len; i += 8) { a0 += Vector256.LoadUnsafe(ref px, (nuint)i); a1 += Vector256.LoadUnsafe(ref px, (nuint)i + 4); }
        }
        double sum = Vector256.Sum(a0 + a1);
        for (; i < len; i++) sum += double.CreateTruncating(x[i]);
        return sum;
    }

    /// <summary>
    /// extreme [cols] over the rows of x [rows, cols]: the greatest value of each column, or with <paramref name="centre"/>
    /// the least distance |x − centre| (how far a unit's output came, on any example, from where its derivative is largest).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnExtremes<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> extreme, T? centre) where T : unmanaged, INumber<T>
    {
        Fits(rows * cols, x.Length, rows * cols, rows * cols);
        Fits(cols, extreme.Length, cols, cols);
        bool distance = centre.HasValue;
        T c = centre.GetValueOrDefault();
        for (int j = 0; j < cols; j++) extreme[j] = distance ? T.Abs(x[j] - c) : x[j];
        ref T px = ref MemoryMarshal.GetReference(x), pe = ref MemoryMarshal.GetReference(extreme);
        int v = Vector256<T>.Count, vectors = Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported ? cols - cols % v : 0;
        var cv = Vector256.Create(c);
        for (int r = 1; r < rows; r++)
        {
            ref T row = ref Unsafe.Add(ref px, (nint)r * cols);
            int k = 0;
            if (distance)
                for (; k < vectors; k += v)
                    Vector256.Min(Vector256.LoadUnsafe(ref pe, (nuint)k), Vector256.Abs(Vector256.LoadUnsafe(ref row, (nuint)k) - cv)).StoreUnsafe(ref pe, (nuint)k);
            else
                for (; k < vectors; k += v)
                    Vector256.Max(Vector256.LoadUnsafe(ref pe, (nuint)k), Vector256.LoadUnsafe(ref row, (nuint)k)).StoreUnsafe(ref pe, (nuint)k);
            for (; k < cols; k++)
            {
                T value = Unsafe.Add(ref row, k);
                ref T e = ref Unsafe.Add(ref pe, k);
                e = distance ? T.Min(e, T.Abs(value - c)) : T.Max(e, value);
            }
        }
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ExpRunner.Nn;

/// <summary>
/// Hand-vectorised element-wise passes that TensorPrimitives has no single call for, each one pass
/// over memory. Spans are read up to the length of the first argument.
/// </summary>
internal static class Elementwise
{
    /// <summary>out = z &gt; 0 ? x : slope·y (leaky ReLU forward with x = y = z; its backward with x = y = dA).</summary>
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

    /// <summary>a = 1 / (1 + e^−z), one pass, on the widest vectors the CPU runs natively.</summary>
    public static void Sigmoid<T>(ReadOnlySpan<T> z, Span<T> a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int len = z.Length, i = 0;
        Fits(len, a.Length, len, len);
        ref T pz = ref MemoryMarshal.GetReference(z), pa = ref MemoryMarshal.GetReference(a);
        if (typeof(T) == typeof(float) || typeof(T) == typeof(double))
        {
            if (Vector512.IsHardwareAccelerated)
                for (; i + Vector512<T>.Count <= len; i += Vector512<T>.Count)
                    (Vector512<T>.One / (Vector512<T>.One + Exp(-Vector512.LoadUnsafe(ref pz, (nuint)i)))).StoreUnsafe(ref pa, (nuint)i);
            if (Vector256.IsHardwareAccelerated)
                for (; i + Vector256<T>.Count <= len; i += Vector256<T>.Count)
                    (Vector256<T>.One / (Vector256<T>.One + Exp(-Vector256.LoadUnsafe(ref pz, (nuint)i)))).StoreUnsafe(ref pa, (nuint)i);
        }
        for (; i < len; i++) Unsafe.Add(ref pa, i) = T.One / (T.One + T.Exp(-Unsafe.Add(ref pz, i)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Exp<T>(Vector512<T> x) where T : unmanaged =>
        typeof(T) == typeof(float) ? Vector512.Exp(x.AsSingle()).As<float, T>() : Vector512.Exp(x.AsDouble()).As<double, T>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Exp<T>(Vector256<T> x) where T : unmanaged =>
        typeof(T) == typeof(float) ? Vector256.Exp(x.AsSingle()).As<float, T>() : Vector256.Exp(x.AsDouble()).As<double, T>();

    /// <summary>Adds the row vector <paramref name="bias"/> [cols] to every row of z [rows, cols], in place.</summary>
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
        for (; i < len; i++) Unsafe.Add(ref pd, i) = T.CreateTruncating(Unsafe.Add(ref ps, i)) * scale;
    }

    /// <summary>dZ = dA·a·(1 − a), the sigmoid's backward from its output.</summary>
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

    private static void Fits(int len, int b, int c, int d)
    {
        if (b < len || c < len || d < len) throw new ArgumentException("element-wise operand shorter than its input");
    }
}

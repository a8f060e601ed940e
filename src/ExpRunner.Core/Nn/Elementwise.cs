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

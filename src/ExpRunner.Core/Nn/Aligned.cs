using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ExpRunner.Nn;

/// <summary>
/// A buffer whose first element starts a cache line, pinned so that it stays there: a batch, a layer's
/// pre-activations, activations and deltas, a group's wide operands. The kernels load 32 (or 64) bytes at a
/// time along rows whose length is a multiple of that; from an array .NET places anywhere 8 bytes apart,
/// half of those loads straddle two cache lines and cost two (measured on a Zen 2, one thread: C4's forward
/// pass in float64 2.14 → 1.88 s an epoch). Where the values lie changes the speed only, never a value or
/// the order of a sum. (.NET cannot place an array itself on a line: the buffer is the part of a pinned
/// byte array from its first line on.)
/// </summary>
internal readonly struct Aligned<T> where T : unmanaged
{
    public const int Line = 64;
    private readonly byte[] _bytes;
    private readonly int _start;

    /// <summary>Zeroed, <paramref name="length"/> long (0: empty).</summary>
    public unsafe Aligned(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _bytes = GC.AllocateArray<byte>(checked(length * Unsafe.SizeOf<T>() + Line), pinned: true);
        long address = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_bytes));
        _start = (int)((Line - address % Line) % Line);
    }

    public int Length { get; }

    public Span<T> Span => _bytes is null ? default : MemoryMarshal.Cast<byte, T>(_bytes.AsSpan(_start, Length * Unsafe.SizeOf<T>()));

    public Span<T> AsSpan(int start, int length) => Span.Slice(start, length);

    public Span<T> AsSpan(int start) => Span[start..];

    /// <summary>How far the first element lies past a cache-line boundary, in bytes: 0 (for tests).</summary>
    internal unsafe long LineOffset => Length == 0 ? 0 : (long)Unsafe.AsPointer(ref MemoryMarshal.GetReference(Span)) % Line;

    public static implicit operator Span<T>(Aligned<T> buffer) => buffer.Span;

    public static implicit operator ReadOnlySpan<T>(Aligned<T> buffer) => buffer.Span;
}

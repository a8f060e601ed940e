using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ExpRunner.Nn;

/// <summary>
/// Matrix products for dense layers. Shape convention, stated once for the whole project:
/// matrices are row-major; a batch is [rows = examples, cols = features]; a weight matrix is
/// [out, in]. The three products training needs, none of which materialises a transpose of a
/// large operand (only X·Wᵀ with fewer than 64 inputs copies its small W transposed):
/// <list type="bullet">
/// <item><see cref="MultiplyTransposedB"/>: C[m,n] = A[m,k]·B[n,k]ᵀ — forward, Z = X·Wᵀ.</item>
/// <item><see cref="MultiplyTransposedA"/>: C[m,n] = A[k,m]ᵀ·B[k,n] — dW = δᵀ·X.</item>
/// <item><see cref="Multiply"/>: C[m,n] = A[m,k]·B[k,n] — dX = δ·W.</item>
/// </list>
/// Each element of C is written by exactly one thread in a fixed order of k, so results do not
/// depend on the thread count. The 512-bit kernels live in Gemm512.cs.
/// </summary>
public static partial class Gemm
{
    private const int Mr = 4;                  // rows of C per 256-bit register tile
    private const int Align = 8;               // partitions between threads start at multiples of every tile height
    private const long ParallelFlops = 1 << 21; // below this a product runs on one thread
    internal const int ShortK = 64;            // X·Wᵀ with k below this runs as an axpy product

    /// <summary>
    /// The widest vectors the kernels use unless a product is given narrower ones (its vectorBits;
    /// a network's <see cref="Network{T}.VectorBits"/>): 512 takes the 512-bit kernels where the CPU
    /// has AVX-512, 256 keeps to the 256-bit ones, anything less runs the scalar fallback.
    /// </summary>
    public const int Widest = 512;

    /// <summary>The kernel family products limited to <paramref name="vectorBits"/> (0: <see cref="Widest"/>) run on: avx512, avx2 or scalar (what a run records).</summary>
    public static string Family(int vectorBits = 0) => Wide<float>(vectorBits) ? "avx512" : Simd<float>(vectorBits) ? "avx2" : "scalar";

    // Every product takes the thread count for its row partition and, optionally, the widest
    // vectors to use (0: Widest; below 256: the scalar fallback), so tests can exercise every
    // kernel family side by side.

    /// <summary>
    /// Work on rows of a product's result done by the thread that computed them, right after them: it is split
    /// as the product is, and finds those rows in its own cache (the bias and activation of a layer after
    /// Z = X·Wᵀ, the activation's derivative after δ·W). Rows start at multiples of 8, so element-wise
    /// passes vectorised from a row range's start line up with a pass over the whole batch.
    /// </summary>
    public interface IRowEpilogue
    {
        void Rows(int start, int end);
    }

    /// <summary>C = A·Bᵀ with A [m,k], B [n,k]; then <paramref name="then"/> on each part's rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void MultiplyTransposedB<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, int threads = 1, int vectorBits = 0,
        IRowEpilogue? then = null)
        where T : unmanaged, INumber<T>
    {
        Check(a.Length >= m * k && b.Length >= n * k && c.Length >= m * n);
        if (k < ShortK)
        {
            // Dot products this short are mostly reductions: transpose B (n·k values) and
            // broadcast A instead.
            var bt = Scratch<T>.Operand(n * k);
            Transpose(b, bt, n, k);
            fixed (T* pa = a) fixed (T* pb = bt) fixed (T* pc = c)
            {
                var axpy = Work<T>.Get(Kind.Axpy, pa, k, pb, pc, m, n, k, Parts(m, n, k, threads), accumulate: false, vectorBits, then);
                WorkerPool.Run(axpy, axpy.Parts);
            }
            return;
        }
        fixed (T* pa = a) fixed (T* pb = b) fixed (T* pc = c)
        {
            var work = Work<T>.Get(Kind.Dot, pa, 0, pb, pc, m, n, k, Parts(m, n, k, threads), accumulate: false, vectorBits, then);
            WorkerPool.Run(work, work.Parts);
        }
    }

    /// <summary>C = Aᵀ·B with A [k,m], B [k,n]; with <paramref name="accumulate"/> C += Aᵀ·B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void MultiplyTransposedA<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, int threads = 1,
        bool accumulate = false, int vectorBits = 0)
        where T : unmanaged, INumber<T>
    {
        Check(a.Length >= m * k && b.Length >= n * k && c.Length >= m * n);
        if (PageStrided<T>(m, n, k) && !UseAxpy512<T>(vectorBits, n))
        {
            // A's columns a page or more apart: each step of p would touch a new page (a TLB miss, and no
            // prefetch across it). Read from Aᵀ instead: the same kernel over the same values in the same
            // order, so the same bits (measured, 1 thread: dW of a 512-unit layer in float64 27 → 35 GFLOP/s,
            // of a 1024-unit one in float 54 → 73; below a page the copy costs what it saves).
            var at = Scratch<T>.Operand(m * k);
            Transpose(a, at, k, m);
            fixed (T* pa = at) fixed (T* pb = b) fixed (T* pc = c)
            {
                var work = Work<T>.Get(Kind.Axpy, pa, k, pb, pc, m, n, k, Parts(m, n, k, threads), accumulate, vectorBits, null);
                WorkerPool.Run(work, work.Parts);
            }
            return;
        }
        fixed (T* pa = a) fixed (T* pb = b) fixed (T* pc = c)
        {
            var work = Work<T>.Get(Kind.AxpyTransposed, pa, 0, pb, pc, m, n, k, Parts(m, n, k, threads), accumulate, vectorBits, null);
            WorkerPool.Run(work, work.Parts);
        }
    }

    /// <summary>C = A·B with A [m,k], B [k,n]; then <paramref name="then"/> on each part's rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, int threads = 1, int vectorBits = 0,
        IRowEpilogue? then = null)
        where T : unmanaged, INumber<T>
    {
        Check(a.Length >= m * k && b.Length >= n * k && c.Length >= m * n);
        fixed (T* pa = a) fixed (T* pb = b) fixed (T* pc = c)
        {
            var work = Work<T>.Get(Kind.Axpy, pa, k, pb, pc, m, n, k, Parts(m, n, k, threads), accumulate: false, vectorBits, then);
            WorkerPool.Run(work, work.Parts);
        }
    }

    /// <summary>Whether C = Aᵀ·B (A [k,m]) reads A from its transpose: A's rows a page (4 KB) or more long, and C at least a vector wide.</summary>
    private static bool PageStrided<T>(int m, int n, int k) where T : unmanaged =>
        (long)m * Unsafe.SizeOf<T>() >= 4096 && n >= Vector256<T>.Count && k > 1;

    private static void Check(bool ok)
    {
        if (!ok) throw new ArgumentException("matrix buffer smaller than its shape");
    }

    /// <summary>
    /// How many threads X·Wᵀ (X [m,k], W [n,k]) is split across; <see cref="Rows"/> gives each its rows of X.
    /// Work that makes X (filling a batch) split the same way leaves each thread its rows in its own cache.
    /// </summary>
    public static int Parts(int m, int n, int k, int threads)
    {
        int parts = Math.Min(threads, (m + Align - 1) / Align);
        return parts > 1 && (long)m * n * k >= ParallelFlops ? parts : 1;
    }

    /// <summary>
    /// The rows [Start, End) of an m-row product that part <paramref name="part"/> of <paramref name="parts"/> computes:
    /// contiguous, in order, starting at multiples of 8 rows (the last part ends at m).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (int Start, int End) Rows(int m, int parts, int part)
    {
        long tiles = (m + Align - 1) / Align;
        return ((int)Math.Min(m, tiles * part / parts * Align), (int)Math.Min(m, tiles * (part + 1) / parts * Align));
    }

    /// <summary>dst [cols, rows] = srcᵀ for src [rows, cols], in 8×8 blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, int cols)
    {
        const int B = 8;
        for (int i0 = 0; i0 < rows; i0 += B)
        {
            int i1 = Math.Min(rows, i0 + B);
            for (int j0 = 0; j0 < cols; j0 += B)
            {
                int j1 = Math.Min(cols, j0 + B);
                for (int j = j0; j < j1; j++)
                    for (int i = i0; i < i1; i++)
                        dst[j * rows + i] = src[i * cols + j];
            }
        }
    }

    private enum Kind { Dot, Axpy, AxpyTransposed }

    /// <summary>Whether the 256-bit kernels vectorise; below 256 bits they run their scalar fallback.</summary>
    private static bool Simd<T>(int bits) where T : unmanaged =>
        (bits > 0 ? bits : Widest) >= 256 && Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported;

    /// <summary>One product, split by rows of C; kept per thread so dispatching allocates nothing.</summary>
    private sealed unsafe class Work<T> : PartitionedWork where T : unmanaged, INumber<T>
    {
        [ThreadStatic] private static Work<T>? _cached;
        private Kind _kind;
        private T* _a, _b, _c;
        private int _rowStride, _m, _n, _k, _bits;
        private bool _accumulate;
        private IRowEpilogue? _then;
        public int Parts { get; private set; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static Work<T> Get(Kind kind, T* a, int rowStride, T* b, T* c, int m, int n, int k, int parts, bool accumulate, int bits, IRowEpilogue? then)
        {
            var w = _cached ??= new Work<T>();
            w._kind = kind; w._a = a; w._rowStride = rowStride; w._b = b; w._c = c;
            w._m = m; w._n = n; w._k = k; w.Parts = parts; w._accumulate = accumulate; w._bits = bits; w._then = then;
            return w;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run(int part)
        {
            (int r0, int r1) = Rows(_m, Parts, part);
            ref T a = ref Unsafe.AsRef<T>(_a);
            ref T b = ref Unsafe.AsRef<T>(_b);
            ref T c = ref Unsafe.AsRef<T>(_c);
            switch (_kind)
            {
                case Kind.Dot when UseDot512<T>(_bits, _k): DotKernel512(ref a, ref b, ref c, r0, r1, _n, _k); break;
                case Kind.Dot: DotKernel(ref a, ref b, ref c, r0, r1, _n, _k, Simd<T>(_bits)); break;
                case Kind.AxpyTransposed when UseAxpy512<T>(_bits, _n): AxpyBlocks512(ref a, _m, ref b, ref c, r0, r1, _n, _k, _accumulate); break;
                case Kind.AxpyTransposed: AxpyBlocks(ref a, 1, _m, ref b, ref c, r0, r1, _n, _k, _accumulate, Simd<T>(_bits)); break;
                case Kind.Axpy when UseAxpy512<T>(_bits, _n):
                {
                    // Column blocks four vectors wide on the 512-bit kernel, the rest on the 256-bit one.
                    int wide = _n - _n % (4 * Vector512<T>.Count);
                    if (wide > 0) AxpyRowsBlocks512(ref a, _rowStride, ref b, ref c, r0, r1, _n, _k, _accumulate);
                    if (wide < _n)
                        AxpyBlocks(ref a, _rowStride, 1, ref Unsafe.Add(ref b, wide), ref Unsafe.Add(ref c, wide), r0, r1, _n, _k, _accumulate,
                            Simd<T>(_bits), width: _n - wide);
                    break;
                }
                default: AxpyBlocks(ref a, _rowStride, 1, ref b, ref c, r0, r1, _n, _k, _accumulate, Simd<T>(_bits)); break;
            }
            if (_then is not null && r1 > r0) _then.Rows(r0, r1);
        }
    }

    /// <summary>
    /// Per-thread buffers that grow to the largest size asked for and are then reused: one for a
    /// transposed operand (held by the calling thread for a whole product), one for a packed panel
    /// of B (used inside a kernel, on whichever thread runs the part).
    /// </summary>
    /// <remarks>
    /// Each starts on a cache line (<see cref="Aligned{T}"/>): a panel's vector loads never straddle two lines
    /// (measured on a Zen 2, one thread, C4's backward pass in float64: 3.37 → 3.24 s an epoch, medians of 4
    /// alternated runs).
    /// </remarks>
    private static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] private static Aligned<T> _operand, _panel;

        public static Span<T> Operand(int length) => Grow(ref _operand, length);

        public static Span<T> Panel(int length) => Grow(ref _panel, length);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Span<T> Grow(ref Aligned<T> buffer, int length)
        {
            if (buffer.Length < length) buffer = new Aligned<T>(length);
            return buffer.AsSpan(0, length);
        }
    }

    private const int Kc = 256; // k per block: B's panel of Kc rows × 2 vectors stays in L1 next to A's rows

    /// <summary>The axpy kernel over blocks of k; after the first block each block adds to C.</summary>
    /// <remarks>n is the row length of B and C; <paramref name="width"/> (default n) how many of their columns to compute.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AxpyBlocks<T>(ref T a, int rs, int cs, ref T b, ref T c, int r0, int r1, int n, int k, bool accumulate, bool simd,
        int width = -1) where T : unmanaged, INumber<T>
    {
        if (width < 0) width = n;
        if (k <= Kc) { AxpyKernel(ref a, rs, cs, ref b, ref c, r0, r1, n, k, accumulate, simd, width); return; }
        for (int k0 = 0; k0 < k; k0 += Kc)
            AxpyKernel(ref Unsafe.Add(ref a, (nint)k0 * cs), rs, cs, ref Unsafe.Add(ref b, (nint)k0 * n), ref c, r0, r1, n,
                Math.Min(Kc, k - k0), accumulate || k0 > 0, simd, width);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> x, Vector256<T> y, Vector256<T> acc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        return x * y + acc;
    }

    /// <summary>
    /// Rows [r0, r1) of C = A·B where A(i,p) = a[i·rowStride + p·colStride]. Register tile: 6 rows ×
    /// 2 vectors of C held in registers while p runs over k (broadcast A, stream B's row), then 4-row
    /// and single-row tiles, one-vector, half-vector and scalar column tails, each four rows at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AxpyKernel<T>(ref T a, int rs, int cs, ref T b, ref T c, int r0, int r1, int n, int k, bool accumulate, bool simd,
        int width)
        where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count;
        simd &= width >= v;
        int j = 0;
        if (simd)
        {
            for (; j + 2 * v <= width; j += 2 * v)
            {
                // B's panel (k rows × 2 vectors) is read once per row tile: with many tiles, copy it
                // to consecutive memory first. Rows of B a power-of-two apart (n = 512) otherwise
                // fall in the same few L1 sets and evict each other (measured: dW for 512×512
                // at 75 against 95 GFLOP/s).
                ref T bj = ref Unsafe.Add(ref b, j);
                int bs = n;
                if (r1 - r0 >= 24)
                {
                    var panel = Scratch<T>.Panel(k * 2 * v);
                    ref T dst = ref MemoryMarshal.GetReference(panel);
                    for (int p = 0; p < k; p++)
                    {
                        ref T src = ref Unsafe.Add(ref bj, (nint)p * n);
                        Vector256.LoadUnsafe(ref src).StoreUnsafe(ref dst, (nuint)(p * 2 * v));
                        Vector256.LoadUnsafe(ref src, (nuint)v).StoreUnsafe(ref dst, (nuint)(p * 2 * v + v));
                    }
                    bj = ref dst;
                    bs = 2 * v;
                }
                int i = r0;
                // As many 6-row tiles as leave the rest to 4-row tiles where they can (20 rows: 6, 6, 4, 4 rather than
                // 6, 6, 6 and two rows alone at a quarter of the speed); every element is the same lane over p whatever its tile.
                int sixes = (r1 - r0) / 6, rest = r1 - r0 - 6 * sixes;
                if (rest % 4 >= 2 && sixes > 0) sixes--;
                for (; i < r0 + 6 * sixes; i += 6) // 6 rows × 2 vectors: 12 accumulators, 15 of the 16 vector registers
                {
                    Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
                                 c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
                    ref T ap = ref Unsafe.Add(ref a, (nint)i * rs);
                    ref T bp = ref bj;
                    int p = 0;
                    for (; p + 2 <= k; p += 2) // two steps a turn: the same chain per accumulator, the row offsets made once for both
                    {
                        var b0 = Vector256.LoadUnsafe(ref bp);
                        var b1 = Vector256.LoadUnsafe(ref bp, (nuint)v);
                        var x = Vector256.Create(ap); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
                        x = Vector256.Create(Unsafe.Add(ref ap, rs)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
                        x = Vector256.Create(Unsafe.Add(ref ap, 2 * rs)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
                        x = Vector256.Create(Unsafe.Add(ref ap, 3 * rs)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
                        x = Vector256.Create(Unsafe.Add(ref ap, 4 * rs)); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                        x = Vector256.Create(Unsafe.Add(ref ap, 5 * rs)); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
                        ref T aq = ref Unsafe.Add(ref ap, cs);
                        ref T bq = ref Unsafe.Add(ref bp, bs);
                        b0 = Vector256.LoadUnsafe(ref bq);
                        b1 = Vector256.LoadUnsafe(ref bq, (nuint)v);
                        x = Vector256.Create(aq); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
                        x = Vector256.Create(Unsafe.Add(ref aq, rs)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
                        x = Vector256.Create(Unsafe.Add(ref aq, 2 * rs)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
                        x = Vector256.Create(Unsafe.Add(ref aq, 3 * rs)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
                        x = Vector256.Create(Unsafe.Add(ref aq, 4 * rs)); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                        x = Vector256.Create(Unsafe.Add(ref aq, 5 * rs)); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
                        ap = ref Unsafe.Add(ref aq, cs);
                        bp = ref Unsafe.Add(ref bq, bs);
                    }
                    for (; p < k; p++)
                    {
                        var b0 = Vector256.LoadUnsafe(ref bp);
                        var b1 = Vector256.LoadUnsafe(ref bp, (nuint)v);
                        var x = Vector256.Create(ap); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
                        x = Vector256.Create(Unsafe.Add(ref ap, rs)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
                        x = Vector256.Create(Unsafe.Add(ref ap, 2 * rs)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
                        x = Vector256.Create(Unsafe.Add(ref ap, 3 * rs)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
                        x = Vector256.Create(Unsafe.Add(ref ap, 4 * rs)); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                        x = Vector256.Create(Unsafe.Add(ref ap, 5 * rs)); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
                        ap = ref Unsafe.Add(ref ap, cs);
                        bp = ref Unsafe.Add(ref bp, bs);
                    }
                    Store(ref c, (nint)i * n + j, v, c00, c01, accumulate);
                    Store(ref c, (nint)(i + 1) * n + j, v, c10, c11, accumulate);
                    Store(ref c, (nint)(i + 2) * n + j, v, c20, c21, accumulate);
                    Store(ref c, (nint)(i + 3) * n + j, v, c30, c31, accumulate);
                    Store(ref c, (nint)(i + 4) * n + j, v, c40, c41, accumulate);
                    Store(ref c, (nint)(i + 5) * n + j, v, c50, c51, accumulate);
                }
                for (; i + Mr <= r1; i += Mr)
                {
                    Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default,
                                 c20 = default, c21 = default, c30 = default, c31 = default;
                    ref T a0 = ref Unsafe.Add(ref a, (nint)i * rs);
                    for (int p = 0; p < k; p++)
                    {
                        ref T brow = ref Unsafe.Add(ref bj, (nint)p * bs);
                        var b0 = Vector256.LoadUnsafe(ref brow);
                        var b1 = Vector256.LoadUnsafe(ref brow, (nuint)v);
                        ref T ap = ref Unsafe.Add(ref a0, (nint)p * cs);
                        var x = Vector256.Create(ap); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
                        x = Vector256.Create(Unsafe.Add(ref ap, rs)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
                        x = Vector256.Create(Unsafe.Add(ref ap, 2 * rs)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
                        x = Vector256.Create(Unsafe.Add(ref ap, 3 * rs)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
                    }
                    Store(ref c, (nint)i * n + j, v, c00, c01, accumulate);
                    Store(ref c, (nint)(i + 1) * n + j, v, c10, c11, accumulate);
                    Store(ref c, (nint)(i + 2) * n + j, v, c20, c21, accumulate);
                    Store(ref c, (nint)(i + 3) * n + j, v, c30, c31, accumulate);
                }
                for (; i < r1; i++)
                {
                    Vector256<T> c0 = default, c1 = default;
                    for (int p = 0; p < k; p++)
                    {
                        ref T brow = ref Unsafe.Add(ref bj, (nint)p * bs);
                        var x = Vector256.Create(Unsafe.Add(ref a, (nint)i * rs + (nint)p * cs));
                        c0 = Fma(x, Vector256.LoadUnsafe(ref brow), c0);
                        c1 = Fma(x, Vector256.LoadUnsafe(ref brow, (nuint)v), c1);
                    }
                    Store(ref c, (nint)i * n + j, v, c0, c1, accumulate);
                }
            }
            for (; j + v <= width; j += v) // one vector of columns, four rows at a time
            {
                int i = r0;
                for (; i + 4 <= r1; i += 4)
                {
                    Vector256<T> c0 = default, c1 = default, c2 = default, c3 = default;
                    ref T ai = ref Unsafe.Add(ref a, (nint)i * rs);
                    for (int p = 0; p < k; p++)
                    {
                        var bv = Vector256.LoadUnsafe(ref Unsafe.Add(ref b, (nint)p * n + j));
                        ref T ap = ref Unsafe.Add(ref ai, (nint)p * cs);
                        c0 = Fma(Vector256.Create(ap), bv, c0);
                        c1 = Fma(Vector256.Create(Unsafe.Add(ref ap, rs)), bv, c1);
                        c2 = Fma(Vector256.Create(Unsafe.Add(ref ap, 2 * rs)), bv, c2);
                        c3 = Fma(Vector256.Create(Unsafe.Add(ref ap, 3 * rs)), bv, c3);
                    }
                    Put(ref c, (nint)i * n + j, c0, accumulate);
                    Put(ref c, (nint)(i + 1) * n + j, c1, accumulate);
                    Put(ref c, (nint)(i + 2) * n + j, c2, accumulate);
                    Put(ref c, (nint)(i + 3) * n + j, c3, accumulate);
                }
                for (; i < r1; i++)
                {
                    Vector256<T> c0 = default;
                    for (int p = 0; p < k; p++)
                        c0 = Fma(Vector256.Create(Unsafe.Add(ref a, (nint)i * rs + (nint)p * cs)),
                                 Vector256.LoadUnsafe(ref Unsafe.Add(ref b, (nint)p * n + j)), c0);
                    Put(ref c, (nint)i * n + j, c0, accumulate);
                }
            }
            int h = Vector128<T>.Count;
            for (; Vector128.IsHardwareAccelerated && j + h <= width; j += h) // half a vector of columns, four rows at a time
            {
                int i = r0;
                for (; i + 4 <= r1; i += 4)
                {
                    Vector128<T> c0 = default, c1 = default, c2 = default, c3 = default;
                    ref T ai = ref Unsafe.Add(ref a, (nint)i * rs);
                    for (int p = 0; p < k; p++)
                    {
                        var bv = Vector128.LoadUnsafe(ref Unsafe.Add(ref b, (nint)p * n + j));
                        ref T ap = ref Unsafe.Add(ref ai, (nint)p * cs);
                        c0 = Fma(Vector128.Create(ap), bv, c0);
                        c1 = Fma(Vector128.Create(Unsafe.Add(ref ap, rs)), bv, c1);
                        c2 = Fma(Vector128.Create(Unsafe.Add(ref ap, 2 * rs)), bv, c2);
                        c3 = Fma(Vector128.Create(Unsafe.Add(ref ap, 3 * rs)), bv, c3);
                    }
                    Put(ref c, (nint)i * n + j, c0, accumulate);
                    Put(ref c, (nint)(i + 1) * n + j, c1, accumulate);
                    Put(ref c, (nint)(i + 2) * n + j, c2, accumulate);
                    Put(ref c, (nint)(i + 3) * n + j, c3, accumulate);
                }
                for (; i < r1; i++)
                {
                    Vector128<T> c0 = default;
                    for (int p = 0; p < k; p++)
                        c0 = Fma(Vector128.Create(Unsafe.Add(ref a, (nint)i * rs + (nint)p * cs)),
                                 Vector128.LoadUnsafe(ref Unsafe.Add(ref b, (nint)p * n + j)), c0);
                    Put(ref c, (nint)i * n + j, c0, accumulate);
                }
            }
        }
        for (; j < width; j++) // columns left over: scalar, same order of p, four rows at a time
        {
            int i = r0;
            for (; i + 4 <= r1; i += 4)
            {
                T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
                ref T ai = ref Unsafe.Add(ref a, (nint)i * rs);
                for (int p = 0; p < k; p++)
                {
                    T bp = Unsafe.Add(ref b, (nint)p * n + j);
                    ref T ap = ref Unsafe.Add(ref ai, (nint)p * cs);
                    s0 += ap * bp;
                    s1 += Unsafe.Add(ref ap, rs) * bp;
                    s2 += Unsafe.Add(ref ap, 2 * rs) * bp;
                    s3 += Unsafe.Add(ref ap, 3 * rs) * bp;
                }
                Put(ref c, (nint)i * n + j, s0, accumulate);
                Put(ref c, (nint)(i + 1) * n + j, s1, accumulate);
                Put(ref c, (nint)(i + 2) * n + j, s2, accumulate);
                Put(ref c, (nint)(i + 3) * n + j, s3, accumulate);
            }
            for (; i < r1; i++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                    sum += Unsafe.Add(ref a, (nint)i * rs + (nint)p * cs) * Unsafe.Add(ref b, (nint)p * n + j);
                Put(ref c, (nint)i * n + j, sum, accumulate);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(ref T c, nint offset, T x, bool accumulate) where T : INumber<T>
    {
        ref T dst = ref Unsafe.Add(ref c, offset);
        dst = accumulate ? dst + x : x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(ref T c, nint offset, Vector256<T> x, bool accumulate) where T : unmanaged
    {
        ref T dst = ref Unsafe.Add(ref c, offset);
        if (accumulate) x += Vector256.LoadUnsafe(ref dst);
        x.StoreUnsafe(ref dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<T>(ref T c, nint offset, Vector128<T> x, bool accumulate) where T : unmanaged
    {
        ref T dst = ref Unsafe.Add(ref c, offset);
        if (accumulate) x += Vector128.LoadUnsafe(ref dst);
        x.StoreUnsafe(ref dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> Fma<T>(Vector128<T> x, Vector128<T> y, Vector128<T> acc) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector128.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), acc.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector128.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), acc.AsDouble()).As<double, T>();
        return x * y + acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T c, nint offset, int v, Vector256<T> x0, Vector256<T> x1, bool accumulate) where T : unmanaged
    {
        ref T dst = ref Unsafe.Add(ref c, offset);
        if (accumulate)
        {
            x0 += Vector256.LoadUnsafe(ref dst);
            x1 += Vector256.LoadUnsafe(ref dst, (nuint)v);
        }
        x0.StoreUnsafe(ref dst);
        x1.StoreUnsafe(ref dst, (nuint)v);
    }

    /// <summary>
    /// Rows [r0, r1) of C = A·Bᵀ: every element is a dot product of two contiguous rows. Register
    /// tile: 4 rows of A × 2 rows of B, eight vector accumulators along k, reduced at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotKernel<T>(ref T a, ref T b, ref T c, int r0, int r1, int n, int k, bool simd)
        where T : unmanaged, INumber<T>
    {
        int mc = RowBlock<T>(k);
        for (int i0 = r0; i0 < r1; i0 += mc)
            DotBlock(ref a, ref b, ref c, i0, Math.Min(r1, i0 + mc), n, k, simd);
    }

    /// <summary>
    /// Rows of A per block of a dot-product kernel: as many as fit in about 512 KB, so a block
    /// stays in L2 while it meets every row of B (a multiple of 8, so tiles fall on the same rows
    /// whatever the partition).
    /// </summary>
    private static int RowBlock<T>(int k) where T : unmanaged =>
        Math.Max(Align, 524288 / (Math.Max(1, k) * Unsafe.SizeOf<T>()) / Align * Align);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotBlock<T>(ref T a, ref T b, ref T c, int r0, int r1, int n, int k, bool simd)
        where T : unmanaged, INumber<T>
    {
        int v = Vector256<T>.Count;
        int kv = simd ? k - k % v : 0;
        // Rows of B in blocks that fit in L2 (about 128 KB), reused by every 4-row tile of A.
        int nc = Math.Max(2, (32768 / Math.Max(1, k)) & ~1);
        // Where a 6-row tile's rows and a pair of B's (8 rows of k) do not fit in L1 together (k = 784 in float64 on a
        // 32 KB L1), k in chunks that fill half of it, so the tile's rows stay in L1 while they meet every pair. Each
        // pair's accumulators wait in memory between chunks and go on where they left off: the same chain of
        // multiply-adds as over k at once, so the same bits, whatever the L1 (measured, 1 thread, X·Wᵀ of C4's first
        // layer in float64: 33 → 39 GFLOP/s; in float, where the rows fit, chunks gained nothing).
        int kc = kv <= 0 || 8L * k * Unsafe.SizeOf<T>() <= Cpu.L1DataBytes ? Math.Max(1, kv)
            : Math.Max(v, Cpu.L1DataBytes / 2 / 8 / Unsafe.SizeOf<T>() / v * v);
        var acc = kc < kv ? Scratch<Vector256<T>>.Panel((nc / 2 + 1) * 12) : default;
        // Rows in tiles of 6 (12 accumulators: enough to keep both FMA pipes busy through their latency),
        // then of 4; rows past the last multiple of 4 one by one. Each element is its own accumulator
        // over k and is reduced by the same formula in every tile, so the tiling never changes a result.
        int tiled = (r1 - r0) / Mr * Mr, sixes = tiled / 6 & ~1; // an even number of 6-row tiles leaves a multiple of 4
        for (int j0 = 0; j0 < n; j0 += nc)
        {
            int j1 = Math.Min(n, j0 + nc);
            int i = r0;
            for (; i < r0 + 6 * sixes; i += 6)
            {
                ref T a0 = ref Unsafe.Add(ref a, (nint)i * k);
                ref T a1 = ref Unsafe.Add(ref a0, k);
                ref T a2 = ref Unsafe.Add(ref a1, k);
                ref T a3 = ref Unsafe.Add(ref a2, k);
                ref T a4 = ref Unsafe.Add(ref a3, k);
                ref T a5 = ref Unsafe.Add(ref a4, k);
                int j = j0;
                for (int p0 = 0; p0 < Math.Max(kv, 1); p0 += kc)
                {
                    int p1 = Math.Min(kv, p0 + kc);
                    bool last = p1 == kv;
                    ref Vector256<T> saved = ref MemoryMarshal.GetReference(acc);
                    for (j = j0; j + 2 <= j1; j += 2, saved = ref Unsafe.Add(ref saved, 12))
                    {
                        ref T b0 = ref Unsafe.Add(ref b, (nint)j * k);
                        ref T b1 = ref Unsafe.Add(ref b0, k);
                        Vector256<T> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default,
                                     s30 = default, s31 = default, s40 = default, s41 = default, s50 = default, s51 = default;
                        if (p0 > 0)
                        {
                            s00 = saved; s01 = Unsafe.Add(ref saved, 1); s10 = Unsafe.Add(ref saved, 2); s11 = Unsafe.Add(ref saved, 3);
                            s20 = Unsafe.Add(ref saved, 4); s21 = Unsafe.Add(ref saved, 5); s30 = Unsafe.Add(ref saved, 6); s31 = Unsafe.Add(ref saved, 7);
                            s40 = Unsafe.Add(ref saved, 8); s41 = Unsafe.Add(ref saved, 9); s50 = Unsafe.Add(ref saved, 10); s51 = Unsafe.Add(ref saved, 11);
                        }
                        int p = p0;
                        for (; p + 2 * v <= p1; p += 2 * v) // two steps a turn: the same chain per accumulator, half the loop's own instructions
                        {
                            var w0 = Vector256.LoadUnsafe(ref b0, (nuint)p);
                            var w1 = Vector256.LoadUnsafe(ref b1, (nuint)p);
                            var x = Vector256.LoadUnsafe(ref a0, (nuint)p); s00 = Fma(x, w0, s00); s01 = Fma(x, w1, s01);
                            x = Vector256.LoadUnsafe(ref a1, (nuint)p); s10 = Fma(x, w0, s10); s11 = Fma(x, w1, s11);
                            x = Vector256.LoadUnsafe(ref a2, (nuint)p); s20 = Fma(x, w0, s20); s21 = Fma(x, w1, s21);
                            x = Vector256.LoadUnsafe(ref a3, (nuint)p); s30 = Fma(x, w0, s30); s31 = Fma(x, w1, s31);
                            x = Vector256.LoadUnsafe(ref a4, (nuint)p); s40 = Fma(x, w0, s40); s41 = Fma(x, w1, s41);
                            x = Vector256.LoadUnsafe(ref a5, (nuint)p); s50 = Fma(x, w0, s50); s51 = Fma(x, w1, s51);
                            nuint q = (nuint)(p + v);
                            w0 = Vector256.LoadUnsafe(ref b0, q);
                            w1 = Vector256.LoadUnsafe(ref b1, q);
                            x = Vector256.LoadUnsafe(ref a0, q); s00 = Fma(x, w0, s00); s01 = Fma(x, w1, s01);
                            x = Vector256.LoadUnsafe(ref a1, q); s10 = Fma(x, w0, s10); s11 = Fma(x, w1, s11);
                            x = Vector256.LoadUnsafe(ref a2, q); s20 = Fma(x, w0, s20); s21 = Fma(x, w1, s21);
                            x = Vector256.LoadUnsafe(ref a3, q); s30 = Fma(x, w0, s30); s31 = Fma(x, w1, s31);
                            x = Vector256.LoadUnsafe(ref a4, q); s40 = Fma(x, w0, s40); s41 = Fma(x, w1, s41);
                            x = Vector256.LoadUnsafe(ref a5, q); s50 = Fma(x, w0, s50); s51 = Fma(x, w1, s51);
                        }
                        for (; p < p1; p += v)
                        {
                            var w0 = Vector256.LoadUnsafe(ref b0, (nuint)p);
                            var w1 = Vector256.LoadUnsafe(ref b1, (nuint)p);
                            var x = Vector256.LoadUnsafe(ref a0, (nuint)p); s00 = Fma(x, w0, s00); s01 = Fma(x, w1, s01);
                            x = Vector256.LoadUnsafe(ref a1, (nuint)p); s10 = Fma(x, w0, s10); s11 = Fma(x, w1, s11);
                            x = Vector256.LoadUnsafe(ref a2, (nuint)p); s20 = Fma(x, w0, s20); s21 = Fma(x, w1, s21);
                            x = Vector256.LoadUnsafe(ref a3, (nuint)p); s30 = Fma(x, w0, s30); s31 = Fma(x, w1, s31);
                            x = Vector256.LoadUnsafe(ref a4, (nuint)p); s40 = Fma(x, w0, s40); s41 = Fma(x, w1, s41);
                            x = Vector256.LoadUnsafe(ref a5, (nuint)p); s50 = Fma(x, w0, s50); s51 = Fma(x, w1, s51);
                        }
                        if (!last)
                        {
                            saved = s00; Unsafe.Add(ref saved, 1) = s01; Unsafe.Add(ref saved, 2) = s10; Unsafe.Add(ref saved, 3) = s11;
                            Unsafe.Add(ref saved, 4) = s20; Unsafe.Add(ref saved, 5) = s21; Unsafe.Add(ref saved, 6) = s30; Unsafe.Add(ref saved, 7) = s31;
                            Unsafe.Add(ref saved, 8) = s40; Unsafe.Add(ref saved, 9) = s41; Unsafe.Add(ref saved, 10) = s50; Unsafe.Add(ref saved, 11) = s51;
                            continue;
                        }
                        ref T crow = ref Unsafe.Add(ref c, (nint)i * n + j);
                        Pair(ref crow, s00, s01, ref a0, ref b0, ref b1, kv, k);
                        Pair(ref Unsafe.Add(ref crow, n), s10, s11, ref a1, ref b0, ref b1, kv, k);
                        Pair(ref Unsafe.Add(ref crow, 2 * n), s20, s21, ref a2, ref b0, ref b1, kv, k);
                        Pair(ref Unsafe.Add(ref crow, 3 * n), s30, s31, ref a3, ref b0, ref b1, kv, k);
                        Pair(ref Unsafe.Add(ref crow, 4 * n), s40, s41, ref a4, ref b0, ref b1, kv, k);
                        Pair(ref Unsafe.Add(ref crow, 5 * n), s50, s51, ref a5, ref b0, ref b1, kv, k);
                    }
                }
                for (; j < j1; j++)
                {
                    ref T b0 = ref Unsafe.Add(ref b, (nint)j * k);
                    for (int r = 0; r < 6; r++)
                        Unsafe.Add(ref c, (nint)(i + r) * n + j) = Dot(ref Unsafe.Add(ref a0, r * k), ref b0, kv, k);
                }
            }
            for (; i + Mr <= r0 + tiled; i += Mr)
            {
                ref T a0 = ref Unsafe.Add(ref a, (nint)i * k);
                ref T a1 = ref Unsafe.Add(ref a0, k);
                ref T a2 = ref Unsafe.Add(ref a1, k);
                ref T a3 = ref Unsafe.Add(ref a2, k);
                int j = j0;
                for (int p0 = 0; p0 < Math.Max(kv, 1); p0 += kc)
                {
                    int p1 = Math.Min(kv, p0 + kc);
                    bool last = p1 == kv;
                    ref Vector256<T> saved = ref MemoryMarshal.GetReference(acc);
                    for (j = j0; j + 2 <= j1; j += 2, saved = ref Unsafe.Add(ref saved, 8))
                    {
                        ref T b0 = ref Unsafe.Add(ref b, (nint)j * k);
                        ref T b1 = ref Unsafe.Add(ref b0, k);
                        Vector256<T> s00 = default, s01 = default, s10 = default, s11 = default,
                                     s20 = default, s21 = default, s30 = default, s31 = default;
                        if (p0 > 0)
                        {
                            s00 = saved; s01 = Unsafe.Add(ref saved, 1); s10 = Unsafe.Add(ref saved, 2); s11 = Unsafe.Add(ref saved, 3);
                            s20 = Unsafe.Add(ref saved, 4); s21 = Unsafe.Add(ref saved, 5); s30 = Unsafe.Add(ref saved, 6); s31 = Unsafe.Add(ref saved, 7);
                        }
                        for (int p = p0; p < p1; p += v)
                        {
                            var w0 = Vector256.LoadUnsafe(ref b0, (nuint)p);
                            var w1 = Vector256.LoadUnsafe(ref b1, (nuint)p);
                            var x = Vector256.LoadUnsafe(ref a0, (nuint)p); s00 = Fma(x, w0, s00); s01 = Fma(x, w1, s01);
                            x = Vector256.LoadUnsafe(ref a1, (nuint)p); s10 = Fma(x, w0, s10); s11 = Fma(x, w1, s11);
                            x = Vector256.LoadUnsafe(ref a2, (nuint)p); s20 = Fma(x, w0, s20); s21 = Fma(x, w1, s21);
                            x = Vector256.LoadUnsafe(ref a3, (nuint)p); s30 = Fma(x, w0, s30); s31 = Fma(x, w1, s31);
                        }
                        if (!last)
                        {
                            saved = s00; Unsafe.Add(ref saved, 1) = s01; Unsafe.Add(ref saved, 2) = s10; Unsafe.Add(ref saved, 3) = s11;
                            Unsafe.Add(ref saved, 4) = s20; Unsafe.Add(ref saved, 5) = s21; Unsafe.Add(ref saved, 6) = s30; Unsafe.Add(ref saved, 7) = s31;
                            continue;
                        }
                        ref T crow = ref Unsafe.Add(ref c, (nint)i * n + j);
                        Pair(ref crow, s00, s01, ref a0, ref b0, ref b1, kv, k);
                        Pair(ref Unsafe.Add(ref crow, n), s10, s11, ref a1, ref b0, ref b1, kv, k);
                        Pair(ref Unsafe.Add(ref crow, 2 * n), s20, s21, ref a2, ref b0, ref b1, kv, k);
                        Pair(ref Unsafe.Add(ref crow, 3 * n), s30, s31, ref a3, ref b0, ref b1, kv, k);
                    }
                }
                for (; j < j1; j++)
                {
                    ref T b0 = ref Unsafe.Add(ref b, (nint)j * k);
                    for (int r = 0; r < Mr; r++)
                        Unsafe.Add(ref c, (nint)(i + r) * n + j) = Dot(ref Unsafe.Add(ref a0, r * k), ref b0, kv, k);
                }
            }
            for (; i < r1; i++)
            {
                ref T ai = ref Unsafe.Add(ref a, (nint)i * k);
                for (int j = j0; j < j1; j++)
                    Unsafe.Add(ref c, (nint)i * n + j) = Dot(ref ai, ref Unsafe.Add(ref b, (nint)j * k), kv, k);
            }
        }
    }

    /// <summary>
    /// Two dot products of one row of A with two rows of B. In float with no scalar tail the two
    /// accumulators are reduced together (two horizontal adds for both); otherwise each is
    /// finished like <see cref="Dot"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair<T>(ref T c, Vector256<T> s0, Vector256<T> s1, ref T a, ref T b0, ref T b1, int kv, int k)
        where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float) && kv == k && Avx.IsSupported)
        {
            var t = Avx.HorizontalAdd(s0.AsSingle(), s1.AsSingle());  // per 128-bit half: s0 pairs, s1 pairs
            var u = t.GetLower() + t.GetUpper();
            var w = Sse3.HorizontalAdd(u, u);                         // Σs0, Σs1, Σs0, Σs1
            Unsafe.WriteUnaligned(ref Unsafe.As<T, byte>(ref c), w.AsUInt64().ToScalar()); // both sums at once
            return;
        }
        c = Finish(s0, ref a, ref b0, kv, k);
        Unsafe.Add(ref c, 1) = Finish(s1, ref a, ref b1, kv, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Finish<T>(Vector256<T> s, ref T x, ref T y, int kv, int k) where T : unmanaged, INumber<T> =>
        Tail(Vector256.Sum(s), ref x, ref y, kv, k);

    /// <summary>A dot product's scalar tail: <paramref name="sum"/> plus x[p]·y[p] for p in [from, k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Tail<T>(T sum, ref T x, ref T y, int from, int k) where T : INumber<T>
    {
        for (int p = from; p < k; p++) sum += Unsafe.Add(ref x, p) * Unsafe.Add(ref y, p);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static T Dot<T>(ref T x, ref T y, int kv, int k) where T : unmanaged, INumber<T>
    {
        Vector256<T> s = default;
        for (int p = 0; p < kv; p += Vector256<T>.Count)
            s = Fma(Vector256.LoadUnsafe(ref x, (nuint)p), Vector256.LoadUnsafe(ref y, (nuint)p), s);
        return Finish(s, ref x, ref y, kv, k);
    }
}

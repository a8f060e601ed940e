using System.Runtime.CompilerServices;
using System.Numerics;

namespace ExpRunner.Data;

/// <summary>
/// Examples in memory: features [Count, Features] kept as bytes (image pixels, scaled by 1/255
/// only when a batch is filled) or as doubles, and an integer class label per example.
/// </summary>
public sealed class Dataset
{
    public string Name { get; }
    public int Count => Labels.Length;
    public int Features { get; }
    public int Classes { get; }
    public int[] Labels { get; }
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>Image width for pixel data (28 for MNIST), 0 for other data.</summary>
    public int ImageWidth { get; private init; }
    private readonly byte[]? _pixels;
    private readonly double[]? _values;

    private Dataset(string name, int features, int classes, int[] labels, byte[]? pixels, double[]? values, IReadOnlyList<string>? classNames)
    {
        Name = name; Features = features; Classes = classes; Labels = labels; _pixels = pixels; _values = values;
        ClassNames = classNames ?? Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    public static Dataset FromPixels(string name, byte[] pixels, int[] labels, int features, int classes, IReadOnlyList<string>? classNames = null, int imageWidth = 0) =>
        new(name, features, classes, labels, pixels, null, classNames) { ImageWidth = imageWidth };

    public static Dataset FromValues(string name, double[] values, int[] labels, int features, int classes, IReadOnlyList<string>? classNames = null) =>
        new(name, features, classes, labels, null, values, classNames);

    public double Feature(int example, int feature) =>
        _pixels is not null ? _pixels[example * Features + feature] / 255.0 : _values![example * Features + feature];

    public bool HasPixels => _pixels is not null;
    public ReadOnlySpan<byte> Pixels(int example) => _pixels.AsSpan(example * Features, Features);

    /// <summary>
    /// Writes the examples <paramref name="indices"/> into x [n, Features] and their targets into
    /// y [n, outputs]: one-hot when outputs = Classes, the label itself (0/1) when outputs = 1.
    /// </summary>
    private const int PrefetchDistance = 4;

    /// <summary>
    /// Asks for an example's features ahead of use: shuffled batches gather rows from all over the
    /// dataset, and without this each row's cache misses would be waited for one after another.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Prefetch(int example)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        int bytes = _pixels is not null ? Features : Features * sizeof(double);
        fixed (byte* p0 = _pixels)
        fixed (double* v0 = _values)
        {
            byte* start = p0 is not null ? p0 + (long)example * Features : (byte*)(v0 + (long)example * Features);
            for (int o = 0; o < bytes; o += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(start + o);
        }
    }

    /// <summary>
    /// <see cref="FillBatch{T}(ReadOnlySpan{int}, Span{T}, Span{T}, int)"/> for a batch of <paramref name="rows"/> examples
    /// from <paramref name="order"/>[<paramref name="start"/>..], its rows split across <paramref name="parts"/> product
    /// threads as the first layer's product will split them (<see cref="Nn.Gemm.Rows"/>): each thread fills the rows it
    /// then multiplies, so they are in its own cache. A batch whose product runs on one thread is filled by one, as
    /// handing its rows to another core would cost more than the copy. (A copy and a conversion per element: the result
    /// is the same however it is split.)
    /// </summary>
    internal void FillBatch<T>(int[] order, int start, int rows, Nn.Aligned<T> x, T[] y, int outputs, int parts) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (parts <= 1) { FillBatch<T>(order.AsSpan(start, rows), x, y, outputs); return; }
        Nn.WorkerPool.Run(FillWork<T>.Get(this, order, start, rows, x, y, outputs, parts), parts);
    }

    private sealed class FillWork<T> : Nn.PartitionedWork where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static FillWork<T>? _cached;
        private Dataset _data = null!;
        private int[] _order = [];
        private Nn.Aligned<T> _x;
        private T[] _y = [];
        private int _start, _rows, _outputs, _parts;

        public static FillWork<T> Get(Dataset data, int[] order, int start, int rows, Nn.Aligned<T> x, T[] y, int outputs, int parts)
        {
            var w = _cached ??= new FillWork<T>();
            (w._data, w._order, w._start, w._rows, w._x, w._y, w._outputs, w._parts) = (data, order, start, rows, x, y, outputs, parts);
            return w;
        }

        public override void Run(int part)
        {
            var (r0, r1) = Nn.Gemm.Rows(_rows, _parts, part);
            int d = _data.Features;
            if (r1 > r0)
                _data.FillBatch<T>(_order.AsSpan(_start + r0, r1 - r0), _x.AsSpan(r0 * d, (r1 - r0) * d), _y.AsSpan(r0 * _outputs, (r1 - r0) * _outputs), _outputs);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FillBatch<T>(ReadOnlySpan<int> indices, Span<T> x, Span<T> y, int outputs) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int d = Features;
        T inv255 = T.One / T.CreateChecked(255);
        for (int r = 0; r < indices.Length; r++)
        {
            int e = indices[r];
            var dst = x.Slice(r * d, d);
            if (r + PrefetchDistance < indices.Length) Prefetch(indices[r + PrefetchDistance]);
            if (_pixels is not null)
            {
                // Exact either way (a byte is exact in float); vectorised: widen, then scale.
                ExpRunner.Nn.Elementwise.ScaleBytes(_pixels.AsSpan(e * d, d), dst, inv255);
            }
            else
            {
                var src = _values.AsSpan(e * d, d);
                for (int f = 0; f < d; f++) dst[f] = T.CreateTruncating(src[f]);
            }
            var yr = y.Slice(r * outputs, outputs);
            if (outputs == 1) yr[0] = T.CreateTruncating(Labels[e]);
            else { yr.Clear(); yr[Labels[e]] = T.One; }
        }
    }
}

/// <summary>A named subset of a dataset (train, validation, test), by example index.</summary>
public sealed record DataSplit(string Name, Dataset Data, int[] Indices)
{
    public int Count => Indices.Length;
    public static DataSplit All(string name, Dataset data) => new(name, data, Enumerable.Range(0, data.Count).ToArray());
}

/// <summary>What a run trains and evaluates on, plus where it came from.</summary>
public sealed record DataSplits(DataSplit Train, DataSplit? Validation, DataSplit Test, DatasetFingerprint Fingerprint)
{
    public int Features => Train.Data.Features;
    public int Classes => Train.Data.Classes;
}

public sealed record DatasetFingerprint(string Name, string Source, int TrainCount, int ValidationCount, int TestCount, IReadOnlyDictionary<string, string> Sha256)
{
    /// <summary>What the files are, in words (from the folder's manifest.json), e.g. the 10,000-digit offline fallback of MNIST.</summary>
    public string? Description { get; init; }
}

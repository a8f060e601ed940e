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

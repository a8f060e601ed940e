using ExpRunner.Nn;

namespace ExpRunner.Tests.Nn;

/// <summary>The vectorised element-wise passes against the plain formula, element by element.</summary>
public class ElementwiseTests
{
    [Theory]
    [InlineData(784)]  // an image row
    [InlineData(256 + 13)] // vector bodies and a scalar tail
    [InlineData(7)]
    public void Bytes_are_scaled_exactly_as_the_scalar_formula_in_float_and_double(int length)
    {
        var bytes = Enumerable.Range(0, length).Select(i => (byte)(i * 37 % 256)).ToArray();
        var f = new float[length];
        var d = new double[length];
        Elementwise.ScaleBytes(bytes, f, 1f / 255);
        Elementwise.ScaleBytes(bytes, d, 1.0 / 255);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal((float)bytes[i] * (1f / 255), f[i]);
            Assert.Equal((double)bytes[i] * (1.0 / 255), d[i]);
        }
        Assert.Contains(bytes, b => b == 255 || length < 256); // every byte value occurs in the long rows
    }
}

/// <summary>A batch filled by several threads is the batch one thread fills.</summary>
public class BatchFillTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void A_batch_split_across_threads_is_filled_exactly_as_by_one(int parts)
    {
        const int n = 300, features = 784, classes = 10, rows = 257;
        var rng = new Random(3);
        var pixels = new byte[n * features];
        rng.NextBytes(pixels);
        var labels = Enumerable.Range(0, n).Select(_ => rng.Next(classes)).ToArray();
        var data = ExpRunner.Data.Dataset.FromPixels("t", pixels, labels, features, classes);
        var order = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
        Aligned<float> x1 = new(rows * features), x2 = new(rows * features);
        float[] y1 = new float[rows * classes], y2 = new float[rows * classes];
        data.FillBatch(order, 17, rows, x1, y1, classes, parts: 1);
        data.FillBatch(order, 17, rows, x2, y2, classes, parts);
        Assert.Equal(x1.Span.ToArray(), x2.Span.ToArray());
        Assert.Equal(y1, y2);
        Assert.Equal(pixels[order[17 + 100] * features + 5] / 255f, x1.Span[100 * features + 5], 6); // row 100 is example order[117]
        Assert.Equal(1f, y1[100 * classes + labels[order[117]]]);
    }
}

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

using System.Numerics;

namespace ExpRunner.Nn;

/// <summary>How a parameter tensor is filled before training. fanIn/fanOut are the layer's in/out widths.</summary>
public sealed record InitSpec(string Scheme, double Low = -0.5, double High = 0.5, double Mean = 0.0, double Std = 1.0)
{
    public static readonly string[] Schemes =
        ["uniform", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "zeros"];

    public void Fill<T>(Span<T> values, int fanIn, int fanOut, Rng rng) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (Scheme)
        {
            case "zeros": values.Clear(); break;
            case "uniform": FillUniform(values, Low, High, rng); break;
            case "normal": FillNormal(values, Mean, Std, rng); break;
            case "xavier_uniform": { double l = Math.Sqrt(6.0 / (fanIn + fanOut)); FillUniform(values, -l, l, rng); break; }
            case "xavier_normal": FillNormal(values, 0, Math.Sqrt(2.0 / (fanIn + fanOut)), rng); break;
            case "he_uniform": { double l = Math.Sqrt(6.0 / fanIn); FillUniform(values, -l, l, rng); break; }
            case "he_normal": FillNormal(values, 0, Math.Sqrt(2.0 / fanIn), rng); break;
            default: throw new ArgumentException($"unknown init scheme '{Scheme}'");
        }
    }

    private static void FillUniform<T>(Span<T> v, double low, double high, Rng rng) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < v.Length; i++) v[i] = T.CreateChecked(rng.Uniform(low, high));
    }

    private static void FillNormal<T>(Span<T> v, double mean, double std, Rng rng) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < v.Length; i++) v[i] = T.CreateChecked(mean + std * rng.NextGaussian());
    }
}

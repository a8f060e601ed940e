using System.Numerics;
using ExpRunner.Nn;

namespace ExpRunner.Tests.Nn;

/// <summary>
/// The vectorised element-wise passes of the activations against a scalar formula in double, in
/// float and double, at lengths around the vector widths (the finite-difference checks cover the
/// derivatives themselves, on small layers).
/// </summary>
public class ActivationTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in new[] { "sigmoid", "tanh", "relu", "leaky_relu", "linear" })
            foreach (int length in new[] { 1, 3, 7, 8, 9, 16, 17, 31, 100 })
                data.Add(name, length);
        return data;
    }

    private static (double A, double DZ) Reference(string name, double z, double da) => name switch
    {
        "sigmoid" => (1 / (1 + Math.Exp(-z)), da * (1 / (1 + Math.Exp(-z))) * (1 - 1 / (1 + Math.Exp(-z)))),
        "tanh" => (Math.Tanh(z), da * (1 - Math.Tanh(z) * Math.Tanh(z))),
        "relu" => (z > 0 ? z : 0, z > 0 ? da : 0),
        "leaky_relu" => (z > 0 ? z : 0.1 * z, z > 0 ? da : 0.1 * da),
        _ => (z, da),
    };

    [Theory, MemberData(nameof(Cases))]
    public void Forward_and_backward_match_the_scalar_formula(string name, int length)
    {
        Check<float>(name, length, 1e-6);
        Check<double>(name, length, 1e-14);
    }

    private static void Check<T>(string name, int length, double tolerance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(3);
        double[] z = new double[length], da = new double[length];
        for (int i = 0; i < length; i++)
        {
            z[i] = i % 5 == 0 ? 0 : rng.Uniform(-3, 3); // exactly 0 where the ReLU family takes its slope
            da[i] = rng.Uniform(-1, 1);
        }
        var act = Activation<T>.Create(name, 0.1);
        T[] tz = z.Select(T.CreateChecked).ToArray(), tda = da.Select(T.CreateChecked).ToArray();
        var a = new T[length];
        var dz = new T[length];
        act.Forward(tz, a, 1, length);
        act.Backward(tz, a, tda, dz, 1, length);
        for (int i = 0; i < length; i++)
        {
            var (ea, edz) = Reference(name, double.CreateChecked(tz[i]), double.CreateChecked(tda[i]));
            Assert.True(Math.Abs(ea - double.CreateChecked(a[i])) <= tolerance, $"{name} a[{i}] = {a[i]}, expected {ea}");
            Assert.True(Math.Abs(edz - double.CreateChecked(dz[i])) <= tolerance * 4, $"{name} dZ[{i}] = {dz[i]}, expected {edz}");
        }
    }
}

/// <summary>The vectorised float exponential against Math.Exp, over the whole range a float can hold.</summary>
public class ExpTests
{
    [Fact]
    public void Float_exp_is_within_two_ulps_of_the_exact_value_and_keeps_nan_and_the_ends()
    {
        var x = new float[20001 + 5];
        for (int i = 0; i <= 20000; i++) x[i] = -87f + 175f * i / 20000;
        x[20001] = float.NaN; x[20002] = -1000f; x[20003] = 0f; x[20004] = 1e-30f; x[20005] = -0f;
        var e = (float[])x.Clone();
        Elementwise.Exp<float>(e);
        for (int i = 0; i <= 20000; i++)
        {
            double exact = Math.Exp(x[i]);
            Assert.True(Math.Abs(e[i] - exact) / exact <= 2.4e-7, $"exp({x[i]}) = {e[i]}, exact {exact}"); // two float ulps
        }
        Assert.True(float.IsNaN(e[20001]));
        Assert.True(e[20002] >= 0 && e[20002] < 1e-37);
        Assert.Equal(1f, e[20003]);
        Assert.Equal(1f, e[20004]);
        Assert.Equal(1f, e[20005]);
    }
}

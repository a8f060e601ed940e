using ExpRunner.Config;
using ExpRunner.Nn;

namespace ExpRunner.Tests.Nn;

/// <summary>
/// Every derivative against five-point central finite differences in float64: each hidden activation, each
/// output activation with each loss it can be paired with; with respect to every weight, every bias
/// and every input. (How gradients are reduced over a batch is the optimizer's, tested in SgdTests.)
/// </summary>
public class GradientCheckTests
{
    private const double Tolerance = 1e-6, H = 1e-4;
    private const int Rows = 5, Inputs = 4;

    public static TheoryData<string, string, string> Combinations()
    {
        var data = new TheoryData<string, string, string>();
        string[] hidden = ["sigmoid", "tanh", "relu", "leaky_relu", "linear"];
        (string Output, string Loss)[] heads =
        [
            ("sigmoid", "sse"), ("sigmoid", "mse"), ("tanh", "sse"), ("tanh", "mse"), ("linear", "sse"), ("linear", "mse"),
            ("relu", "sse"), ("leaky_relu", "mse"), ("softmax", "sse"), ("softmax", "mse"),
            ("sigmoid", "bce"), ("softmax", "cross_entropy"),
        ];
        foreach (var h in hidden)
            foreach (var (o, l) in heads)
                data.Add(h, o, l);
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Backprop_matches_finite_differences_for_every_parameter_and_input(string hidden, string output, string lossName)
    {
        int outputs = lossName == "bce" ? 1 : 3;
        var (net, x, y) = Setup(hidden, output, outputs, seed: 7);
        var loss = Loss<double>.Create(lossName);
        double Objective() { net.Forward(x, Rows); return net.LossSum(loss, y, Rows); }

        net.Forward(x, Rows);
        net.Backward(x, y, Rows, loss, inputGradient: true);
        var analyticInput = net.InputGradient(Rows).ToArray();
        var grads = net.Layers.Select(l => (W: l.DW.ToArray(), B: l.DB.ToArray())).ToList();

        for (int l = 0; l < net.Layers.Count; l++)
        {
            AssertClose(net.Layers[l].W, grads[l].W, Objective, $"layers.{l}.weight");
            AssertClose(net.Layers[l].B, grads[l].B, Objective, $"layers.{l}.bias");
        }
        AssertClose(x, analyticInput, Objective, "input");
    }

    private static (Network<double>, double[] x, double[] y) Setup(string hidden, string output, int outputs, int seed)
    {
        var rng = new Rng((ulong)seed);
        var layers = new List<DenseLayer<double>>
        {
            new(Inputs, 6, Activation<double>.Create(hidden, 0.1)),
            new(6, 5, Activation<double>.Create(hidden, 0.1)),
            new(5, outputs, Activation<double>.Create(output, 0.1)),
        };
        foreach (var layer in layers)
        {
            new InitSpec("uniform", -0.8, 0.8).Fill<double>(layer.W, layer.In, layer.Out, rng);
            new InitSpec("uniform", -0.3, 0.3).Fill<double>(layer.B, layer.In, layer.Out, rng);
        }
        var net = new Network<double>(layers, Rows);
        var x = Enumerable.Range(0, Rows * Inputs).Select(_ => rng.Uniform(-1, 1)).ToArray();
        var y = new double[Rows * outputs];
        for (int r = 0; r < Rows; r++)
            if (outputs == 1) y[r] = r % 2;
            else y[r * outputs + r % outputs] = 1;
        return (net, x, y);
    }

    private static void AssertClose(double[] parameters, double[] analytic, Func<double> objective, string what)
    {
        for (int i = 0; i < parameters.Length; i++)
        {
            double saved = parameters[i];
            // Five-point central difference: truncation error O(h⁴), so h can be large enough that
            // round-off in the loss (≈1e-16/h) stays far below the tolerance even for tiny gradients.
            double At(double v) { parameters[i] = v; return objective(); }
            double numeric = (-At(saved + 2 * H) + 8 * At(saved + H) - 8 * At(saved - H) + At(saved - 2 * H)) / (12 * H);
            parameters[i] = saved;
            // Relative error; below 1e-5 (e.g. exactly 0 for a dead relu unit) the floor turns it into an
            // absolute bound of 1e-11, since there the loss's own round-off (≈1e-16·L/h) dominates.
            double error = Math.Abs(numeric - analytic[i]) / Math.Max(Math.Abs(numeric) + Math.Abs(analytic[i]), 1e-5);
            Assert.True(error <= Tolerance,
                $"{what}[{i}]: backprop {analytic[i]:G17}, finite difference {numeric:G17}, relative error {error:E2}");
        }
    }
}

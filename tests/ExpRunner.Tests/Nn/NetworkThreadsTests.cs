using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Nn;
using ExpRunner.Training;

namespace ExpRunner.Tests.Nn;

/// <summary>
/// A whole forward and backward pass split across threads — products, and the bias, activation and
/// derivative each product thread applies to its own rows — gives the same bits as on one thread.
/// </summary>
public class NetworkThreadsTests
{
    [Theory]
    [InlineData("sigmoid", "sigmoid", "sse")]
    [InlineData("tanh", "softmax", "cross_entropy")]
    [InlineData("relu", "softmax", "cross_entropy")]
    [InlineData("leaky_relu", "sigmoid", "bce")]
    [InlineData("linear", "softmax", "cross_entropy")]
    [InlineData("softmax", "sigmoid", "mse")]
    public void A_pass_split_across_threads_equals_the_single_threaded_one_bit_for_bit(string hidden, string output, string loss)
    {
        Same<float>(hidden, output, loss);
        Same<double>(hidden, output, loss);
    }

    private static void Same<T>(string hidden, string output, string loss) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Odd widths and a batch that is not a multiple of 8: row ranges end mid-vector; the first two products split.
        const int inputs = 700, rows = 203, classes = 10;
        var model = new ModelConfig
        {
            Layers = [new LayerConfig { Units = 301, Activation = SnakeNames<ActivationKind>.Parse(hidden) }, new LayerConfig { Units = 77, Activation = SnakeNames<ActivationKind>.Parse(hidden) },
                new LayerConfig { Units = classes, Activation = SnakeNames<ActivationKind>.Parse(output) }],
            Init = new UniformInit { Low = -0.1, High = 0.1 },
        };
        Assert.True(Gemm.Parts(rows, 301, inputs, 2) == 2 && Gemm.Parts(rows, 77, 301, 3) == 3, "the products must split for this test to mean anything");
        var rng = new Random(5);
        var x = Enumerable.Range(0, rows * inputs).Select(_ => T.CreateChecked(rng.NextDouble() * 2 - 1)).ToArray();
        var y = new T[rows * classes];
        for (int r = 0; r < rows; r++) y[r * classes + rng.Next(classes)] = T.One;

        T[] Pass(int threads)
        {
            var net = ModelBuilder.Build<T>(model, inputs, rows, seed: 11);
            net.Threads = threads;
            var l = Loss<T>.Create(loss);
            var result = net.Forward(x, rows).ToArray().ToList();
            result.Add(T.CreateChecked(net.LossSum(l, y, rows)));
            net.Backward(x, y, rows, l, inputGradient: true);
            foreach (var layer in net.Layers) { result.AddRange(layer.DW); result.AddRange(layer.DB); }
            result.AddRange(net.InputGradient(rows).ToArray());
            return result.ToArray();
        }
        var one = Pass(1);
        Assert.All(one, v => Assert.True(T.IsFinite(v)));
        Assert.Equal(one, Pass(2));
        Assert.Equal(one, Pass(3));
    }
}

using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;
using ExpRunner.Training;

namespace ExpRunner.Tests.Training;

public class SgdTests
{
    /// <summary>
    /// A 2→1 linear network with sse, two examples, worked by hand:
    /// w = [0.5, −0.25], b = 0.1; x₁ = [1, 2], y₁ = 1; x₂ = [−1, 0.5], y₂ = 0.
    /// a₁ = 0.5 − 0.5 + 0.1 = 0.1, δ₁ = a₁ − y₁ = −0.9; a₂ = −0.5 − 0.125 + 0.1 = −0.525, δ₂ = −0.525.
    /// Σδx = [−0.9·1 + (−0.525)(−1), −0.9·2 + (−0.525)(0.5)] = [−0.375, −2.0625]; Σδ = −1.425.
    /// With lr 0.1, averaged weights: w ← w − 0.1·Σδx/2 = [0.51875, −0.146875]; summed: w ← w − 0.1·Σδx = [0.5375, −0.04375].
    /// Averaged biases: b ← 0.1 + 0.1·1.425/2 = 0.17125; summed: b ← 0.1 + 0.1·1.425 = 0.2425. Each kind
    /// of parameter follows its own rule (swapping weights and biases in the optimizer fails the mixed cases).
    /// </summary>
    [Theory]
    [InlineData(Reduction.Mean, Reduction.Mean, 0.51875, -0.146875, 0.17125)]
    [InlineData(Reduction.Sum, Reduction.Sum, 0.5375, -0.04375, 0.2425)]
    [InlineData(Reduction.Sum, Reduction.Mean, 0.5375, -0.04375, 0.17125)]
    [InlineData(Reduction.Mean, Reduction.Sum, 0.51875, -0.146875, 0.2425)]
    public void One_sgd_step_on_a_tiny_network_matches_the_hand_computed_update(Reduction weights, Reduction biases, double w0, double w1, double b)
    {
        var layer = new DenseLayer<double>(2, 1, Activation<double>.Create("linear"));
        layer.W[0] = 0.5; layer.W[1] = -0.25; layer.B[0] = 0.1;
        var net = new Network<double>([layer], 2);
        double[] x = [1, 2, -1, 0.5], y = [1, 0];
        var loss = Loss<double>.Create("sse");
        net.Forward(x, 2);
        Assert.Equal(0.5 * (0.81 + 0.275625), net.LossSum(loss, y, 2), 12);
        net.Backward(x, y, 2, loss);
        Optimizer<double>.Create(new TrainingConfig { LearningRate = 0.1, GradientReduction = new GradientReduction(weights, biases) }, net).Step(net, 2, 0.1);
        Assert.Equal(w0, layer.W[0], 12);
        Assert.Equal(w1, layer.W[1], 12);
        Assert.Equal(b, layer.B[0], 12);
    }

    [Fact]
    public void Weight_decay_and_momentum_follow_the_documented_update()
    {
        var layer = new DenseLayer<double>(1, 1, Activation<double>.Create("linear"));
        layer.W[0] = 1.0; layer.B[0] = 0.0;
        var net = new Network<double>([layer], 1);
        var sgd = Optimizer<double>.Create(new TrainingConfig { LearningRate = 0.1, Optimizer = new SgdConfig { Momentum = 0.5, WeightDecay = 0.01 }, GradientReduction = GradientReduction.Sum }, net);
        layer.DW[0] = 2.0; layer.DB[0] = 1.0;
        sgd.Step(net, 1, 0.1);           // v = 2 + 0.01·1 = 2.01; w = 1 − 0.201 = 0.799. vb = 1; b = −0.1
        Assert.Equal(0.799, layer.W[0], 12);
        Assert.Equal(-0.1, layer.B[0], 12);
        sgd.Step(net, 1, 0.1);           // v = 0.5·2.01 + 2 + 0.00799 = 3.01299; w = 0.799 − 0.301299
        Assert.Equal(0.799 - 0.301299, layer.W[0], 12);
        Assert.Equal(-0.1 - 0.1 * 1.5, layer.B[0], 12);
    }

    [Theory]
    [InlineData("float32")]
    [InlineData("float64")]
    public void Summed_gradients_at_lr_over_B_step_exactly_like_averaged_gradients_at_lr(string precision)
    {
        const int batch = 25;
        const double lr = 0.5;
        var mean = Train(precision, new TrainingConfig { LearningRate = lr, BatchSize = batch, Epochs = 3, GradientReduction = GradientReduction.Mean });
        var sum = Train(precision, new TrainingConfig { LearningRate = lr / batch, BatchSize = batch, Epochs = 3, GradientReduction = GradientReduction.Sum });
        Assert.Equal(mean.Length, sum.Length);
        for (int i = 0; i < mean.Length; i++) Assert.Equal(mean[i], sum[i]); // bit for bit
        var untrained = Train(precision, new TrainingConfig { LearningRate = lr, BatchSize = batch, Epochs = 3, GradientReduction = GradientReduction.Sum });
        Assert.NotEqual(mean, untrained); // and the reduction does matter at the same lr
    }

    /// <summary>Trains a small network on XOR and returns all its parameters as doubles.</summary>
    private static double[] Train(string precision, TrainingConfig t) =>
        precision == "float64" ? Train<double>(t) : Train<float>(t);

    private static double[] Train<T>(TrainingConfig t) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var model = new ModelConfig
        {
            Layers = [new LayerConfig { Units = 6, Activation = ActivationKind.Tanh }, new LayerConfig { Units = 1, Activation = ActivationKind.Sigmoid }],
            Init = new UniformInit { Low = -1, High = 1 },
        };
        var data = Synthetic.Generate("xor", 100, 2, 2, 1, 0.05, 0.5, new Rng(3));
        var split = DataSplit.All("train", data);
        var splits = new DataSplits(split, null, split, new DatasetFingerprint("xor", "generated", 100, 0, 100, new Dictionary<string, string>()));
        var net = ModelBuilder.Build<T>(model, 2, t.BatchSize, seed: 1);
        var trainer = new Trainer<T>(net, Loss<T>.Create("bce"), Optimizer<T>.Create(t, net), t, new Rng(9));
        var outcome = trainer.Train(splits, _ => { }, null, CancellationToken.None);
        Assert.Equal(TrainingEnd.Finished, outcome.End);
        return net.Layers.SelectMany(l => l.W.Concat(l.B)).Select(v => double.CreateTruncating(v)).ToArray();
    }
}

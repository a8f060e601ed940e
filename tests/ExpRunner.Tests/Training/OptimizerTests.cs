using ExpRunner.Config;
using ExpRunner.Nn;
using ExpRunner.Training;

namespace ExpRunner.Tests.Training;

/// <summary>
/// Every optimizer step by step against a reference written here from PyTorch's documented
/// algorithms (torch.optim.SGD, Adam, AdamW, RMSprop, Adagrad), one scalar parameter at a time in
/// float64 — independent of the vectorised, per-tensor code under test.
/// </summary>
public class OptimizerTests
{
    /// <summary>The state the reference keeps for one scalar parameter.</summary>
    private sealed class Scalar
    {
        public double P, M, V, B, Sum;
    }

    /// <summary>One reference step of a scalar parameter: g is the batch's summed gradient, divided by <paramref name="divisor"/> (the reduction) first.</summary>
    private static void Reference(TrainingConfig c, Scalar x, double g, double divisor, int t, double lr, bool isWeight)
    {
        var (decay, decoupledSetting) = c.Optimizer switch
        {
            SgdConfig o => (o.WeightDecay, o.Decoupled), AdamConfig o => (o.WeightDecay, o.Decoupled), AdamWConfig o => (o.WeightDecay, true),
            RmspropConfig o => (o.WeightDecay, o.Decoupled), AdagradConfig o => (o.WeightDecay, o.Decoupled), _ => throw new InvalidOperationException(),
        };
        double wd = isWeight ? decay : 0;
        bool decoupled = decoupledSetting;
        g /= divisor;
        if (decoupled) x.P *= 1 - lr * wd;        // AdamW: θ ← θ − γλθ, before the step
        else g += wd * x.P;                         // g ← g + λθ
        switch (c.Optimizer)
        {
            case SgdConfig sgd:
                if (sgd.Momentum == 0) { x.P -= lr * g; break; }
                x.B = t == 1 ? g : sgd.Momentum * x.B + (1 - sgd.Dampening) * g; // b₁ = g; bₜ = μbₜ₋₁ + (1 − τ)g
                x.P -= lr * (sgd.Nesterov ? g + sgd.Momentum * x.B : x.B);
                break;
            case AdamConfig or AdamWConfig:
                var (beta1, beta2, eps) = c.Optimizer is AdamConfig a ? (a.Beta1, a.Beta2, a.Eps) : c.Optimizer is AdamWConfig w ? (w.Beta1, w.Beta2, w.Eps) : default;
                x.M = beta1 * x.M + (1 - beta1) * g;
                x.V = beta2 * x.V + (1 - beta2) * g * g;
                double mHat = x.M / (1 - Math.Pow(beta1, t)), vHat = x.V / (1 - Math.Pow(beta2, t));
                x.P -= lr * mHat / (Math.Sqrt(vHat) + eps);
                break;
            case RmspropConfig r:
                x.V = r.Alpha * x.V + (1 - r.Alpha) * g * g;
                if (r.Momentum > 0) { x.B = r.Momentum * x.B + g / (Math.Sqrt(x.V) + r.Eps); x.P -= lr * x.B; }
                else x.P -= lr * g / (Math.Sqrt(x.V) + r.Eps);
                break;
            case AdagradConfig ag:
                double clr = lr / (1 + (t - 1) * ag.LrDecay);
                x.Sum += g * g;
                x.P -= clr * g / (Math.Sqrt(x.Sum) + ag.Eps);
                break;
        }
    }

    public static TheoryData<string, TrainingConfig> Configs => new()
    {
        { "sgd", new TrainingConfig { Optimizer = new SgdConfig(), LearningRate = 0.1 } },
        { "sgd + decay", new TrainingConfig { Optimizer = new SgdConfig { WeightDecay = 0.05 }, LearningRate = 0.1 } },
        { "sgd + momentum + decay", new TrainingConfig { Optimizer = new SgdConfig { Momentum = 0.9, WeightDecay = 0.05 }, LearningRate = 0.1 } },
        { "sgd + nesterov", new TrainingConfig { Optimizer = new SgdConfig { Momentum = 0.9, Nesterov = true, WeightDecay = 0.01 }, LearningRate = 0.1 } },
        { "sgd + momentum + dampening + decay", new TrainingConfig { Optimizer = new SgdConfig { Momentum = 0.9, Dampening = 0.3, WeightDecay = 0.05 }, LearningRate = 0.1 } },
        { "sgd + momentum + decoupled", new TrainingConfig { Optimizer = new SgdConfig { Momentum = 0.5, WeightDecay = 0.05, Decoupled = true }, LearningRate = 0.1 } },
        { "adam", new TrainingConfig { Optimizer = new AdamConfig(), LearningRate = 0.01 } },
        { "adam + decay", new TrainingConfig { Optimizer = new AdamConfig { WeightDecay = 0.1, Beta1 = 0.8, Beta2 = 0.99 }, LearningRate = 0.01 } },
        { "adamw", new TrainingConfig { Optimizer = new AdamWConfig { WeightDecay = 0.01 }, LearningRate = 0.01 } },
        { "rmsprop", new TrainingConfig { Optimizer = new RmspropConfig(), LearningRate = 0.01 } },
        { "rmsprop + momentum + decay", new TrainingConfig { Optimizer = new RmspropConfig { Momentum = 0.9, WeightDecay = 0.02, Alpha = 0.9 }, LearningRate = 0.01 } },
        { "adagrad", new TrainingConfig { Optimizer = new AdagradConfig { Eps = 1e-10 }, LearningRate = 0.1 } },
        { "adagrad + lr decay + decay", new TrainingConfig { Optimizer = new AdagradConfig { Eps = 1e-10, LrDecay = 0.1, WeightDecay = 0.03 }, LearningRate = 0.1 } },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Each_optimizer_steps_like_its_reference_for_weights_and_biases(string name, TrainingConfig c)
    {
        foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum })
        {
            var config = c with { GradientReduction = new GradientReduction(reduction, reduction) };
            var layers = new[] { new DenseLayer<double>(3, 2, Activation<double>.Create("tanh")), new DenseLayer<double>(2, 1, Activation<double>.Create("linear")) };
            var net = new Network<double>(layers, 4);
            var rng = new Random(5);
            var reference = layers.SelectMany(l => l.W.Concat(l.B)).Select(_ => new Scalar()).ToArray();
            int k = 0;
            foreach (var l in layers)
            {
                for (int i = 0; i < l.W.Length; i++) reference[k++].P = l.W[i] = rng.NextDouble() - 0.5;
                for (int i = 0; i < l.B.Length; i++) reference[k++].P = l.B[i] = rng.NextDouble() - 0.5;
            }
            var optimizer = Optimizer<double>.Create(config, net);
            const int rows = 4;
            double divisor = reduction == Reduction.Mean ? rows : 1;
            for (int t = 1; t <= 6; t++)
            {
                double lr = config.LearningRate * (t == 4 ? 0.5 : 1); // a schedule may change the rate between steps
                k = 0;
                foreach (var l in layers)
                {
                    for (int i = 0; i < l.W.Length; i++) { l.DW[i] = 4 * (rng.NextDouble() - 0.5); Reference(config, reference[k++], l.DW[i], divisor, t, lr, isWeight: true); }
                    for (int i = 0; i < l.B.Length; i++) { l.DB[i] = 4 * (rng.NextDouble() - 0.5); Reference(config, reference[k++], l.DB[i], divisor, t, lr, isWeight: false); }
                }
                optimizer.Step(net, rows, lr);
                var got = layers.SelectMany(l => l.W.Concat(l.B)).ToArray();
                for (int i = 0; i < got.Length; i++)
                    Assert.True(Math.Abs(got[i] - reference[i].P) <= 1e-13 * Math.Max(1, Math.Abs(reference[i].P)),
                        $"{name} ({reduction}), step {t}, parameter {i}: {got[i]} vs reference {reference[i].P}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void A_large_weight_update_split_across_threads_equals_the_single_threaded_one_bit_for_bit(string name, TrainingConfig c)
    {
        // 300 × 701 weights (rows start mid-vector) and batches of 64: the gradient's product, and so the update, split across the threads.
        float[] Train(int threads)
        {
            var layer = new DenseLayer<float>(701, 300, Activation<float>.Create("linear"));
            var net = new Network<float>([layer], 1) { Threads = threads };
            var rng = new Random(11);
            for (int i = 0; i < layer.W.Length; i++) layer.W[i] = (float)(rng.NextDouble() - 0.5);
            var optimizer = Optimizer<float>.Create(c, net);
            for (int t = 1; t <= 3; t++)
            {
                for (int i = 0; i < layer.DW.Length; i++) layer.DW[i] = (float)(4 * (rng.NextDouble() - 0.5));
                optimizer.Step(net, 64, c.LearningRate);
            }
            return [.. layer.W, .. optimizer.State.SelectMany(s => s)];
        }
        Assert.True(Gemm.Parts(300, 701, 64, 2) == 2 && Gemm.Parts(300, 701, 64, 3) == 3);
        var one = Train(1);
        Assert.Equal(one, Train(2));
        Assert.Equal(one, Train(3));
        Assert.True(one.Length >= 300 * 701, name); // the weights and the optimizer's state, all compared
    }

    [Fact]
    public void Adams_first_step_moves_every_parameter_by_the_learning_rate_against_its_gradient()
    {
        // m̂₁ = g and v̂₁ = g², so the first step is lr·g/(|g| + ε): lr for any gradient well above ε.
        var layer = new DenseLayer<double>(2, 2, Activation<double>.Create("linear"));
        layer.W[0] = 1; layer.W[1] = -1; layer.W[2] = 0.5; layer.W[3] = 0;
        var net = new Network<double>([layer], 1);
        double[] g = [3, -0.002, 1e6, -7];
        g.CopyTo(layer.DW, 0);
        Optimizer<double>.Create(new TrainingConfig { Optimizer = new AdamConfig(), LearningRate = 0.001, GradientReduction = GradientReduction.Sum }, net).Step(net, 1, 0.001);
        double[] expected = [1 - 0.001 * 3 / (3 + 1e-8), -1 + 0.001 * 0.002 / (0.002 + 1e-8), 0.5 - 0.001 * 1e6 / (1e6 + 1e-8), 0 + 0.001 * 7 / (7 + 1e-8)];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], layer.W[i], 15);
    }

    [Fact]
    public void Under_adam_mean_and_sum_reductions_take_nearly_the_same_steps_unlike_under_sgd()
    {
        double[] Step(OptimizerConfig optimizer, Reduction r)
        {
            var layer = new DenseLayer<double>(3, 1, Activation<double>.Create("linear"));
            layer.W[0] = 0.1; layer.W[1] = 0.2; layer.W[2] = 0.3;
            var net = new Network<double>([layer], 100);
            var opt = Optimizer<double>.Create(new TrainingConfig { Optimizer = optimizer, LearningRate = 0.01, GradientReduction = new GradientReduction(r, r) }, net);
            for (int t = 0; t < 3; t++)
            {
                layer.DW[0] = 50; layer.DW[1] = -20 + t; layer.DW[2] = 5;
                opt.Step(net, 100, 0.01);
            }
            return [.. layer.W];
        }
        var (adamMean, adamSum) = (Step(new AdamConfig(), Reduction.Mean), Step(new AdamConfig(), Reduction.Sum));
        for (int i = 0; i < 3; i++) Assert.Equal(adamMean[i], adamSum[i], 7); // they differ by ε relative to the gradient: 1e-8 / 0.05 of a 0.03 move
        var (sgdMean, sgdSum) = (Step(new SgdConfig(), Reduction.Mean), Step(new SgdConfig(), Reduction.Sum));
        Assert.True(Math.Abs(sgdSum[0] - 0.1) > 50 * Math.Abs(sgdMean[0] - 0.1));
    }

    [Theory]
    // kind, per, warmup, epochs, (epoch, batch) → expected, with lr 0.1, 10 batches an epoch
    [InlineData("constant", "epoch", 0, 10, 7, 3, 0.1)]
    [InlineData("step", "epoch", 0, 30, 1, 0, 0.1)]
    [InlineData("step", "epoch", 0, 30, 11, 0, 0.1 * 0.5)]        // step_epochs 10, γ 0.5: epoch 11 has 10 done
    [InlineData("step", "epoch", 0, 30, 21, 9, 0.1 * 0.25)]
    [InlineData("exponential", "epoch", 0, 30, 4, 5, 0.1 * 0.125)] // γ 0.5, 3 epochs done
    [InlineData("exponential", "batch", 0, 30, 4, 5, 0.008838834764831846)] // 3.5 done: 0.1·0.5^3.5
    [InlineData("cosine", "epoch", 0, 10, 1, 0, 0.1)]
    [InlineData("cosine", "epoch", 0, 10, 6, 0, 0.055)]            // halfway: min 0.01 + 0.09·(1 + cos π/2)/2
    [InlineData("cosine", "batch", 0, 10, 10, 9, 0.010022204783542078)] // 9.9 of 10 done
    [InlineData("constant", "epoch", 4, 10, 1, 5, 0.025)]          // warm-up: epoch 1 of 4 at lr/4
    [InlineData("constant", "epoch", 4, 10, 4, 0, 0.1)]
    [InlineData("constant", "batch", 4, 10, 1, 0, 0.0025)]         // step 1 of 40
    [InlineData("cosine", "epoch", 2, 12, 3, 0, 0.1)]              // after warm-up the schedule starts at lr
    [InlineData("cosine", "epoch", 2, 12, 8, 0, 0.055)]            // 5 of its 10 epochs done
    public void Schedules_give_the_documented_rate(string kind, string per, int warmup, int epochs, int epoch, int batch, double expected)
    {
        ScheduleConfig schedule = kind switch
        {
            "step" => new StepSchedule { StepEpochs = 10, Gamma = 0.5, Per = per },
            "exponential" => new ExponentialSchedule { Gamma = 0.5, Per = per },
            "cosine" => new CosineSchedule { MinLr = 0.01, Per = per },
            _ => new ConstantSchedule { Per = per },
        };
        var t = new TrainingConfig { LearningRate = 0.1, Epochs = epochs, Schedule = schedule, WarmupEpochs = warmup };
        Assert.Equal(expected, Schedule.At(t, epoch, batch, 10), 12);
    }
}

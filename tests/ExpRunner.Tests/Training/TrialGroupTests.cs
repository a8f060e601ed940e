using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;
using ExpRunner.Training;

namespace ExpRunner.Tests.Training;

/// <summary>
/// Trials trained together in a group (one batch fill, the first layer's products as one wide product)
/// end bit for bit where each ends trained alone: every optimizer, both reductions, widths that share
/// the wide product and widths that do not, a trial that diverges mid-batch, one that stops early, in
/// float and double, on every kernel family this CPU has.
/// </summary>
public class TrialGroupTests
{
    private const int Features = 100, Classes = 5, Examples = 230, Batch = 32;

    private sealed record Trial(string Name, int[] Units, TrainingConfig Training, int Epochs = 3, ActivationKind Hidden = ActivationKind.Tanh);

    private static readonly Trial[] Trials =
    [
        new("sgd mean", [20, 12], new TrainingConfig { LearningRate = 0.5, GradientReduction = GradientReduction.Mean }),
        new("sgd sum nesterov", [20, 12], new TrainingConfig { LearningRate = 0.01, GradientReduction = GradientReduction.Sum, Optimizer = new SgdConfig { Momentum = 0.9, Nesterov = true } }),
        new("adam mean, 7 wide", [7, 12], new TrainingConfig { LearningRate = 0.01, Optimizer = new AdamConfig() }),
        new("adamw sum", [16], new TrainingConfig { LearningRate = 0.001, GradientReduction = GradientReduction.Sum, Optimizer = new AdamWConfig() }),
        new("rmsprop mean", [8, 8], new TrainingConfig { LearningRate = 0.01, Optimizer = new RmspropConfig { Momentum = 0.5 } }),
        new("adagrad sum, 2 epochs", [4], new TrainingConfig { LearningRate = 0.05, GradientReduction = GradientReduction.Sum, Optimizer = new AdagradConfig() }, Epochs: 2),
        new("sgd decoupled decay, 13 wide", [13, 6], new TrainingConfig { LearningRate = 0.2, Optimizer = new SgdConfig { WeightDecay = 0.01, Decoupled = true, Momentum = 0.5, Dampening = 0.1 } }),
        new("sgd sum diverges", [12], new TrainingConfig { LearningRate = 1e20, GradientReduction = GradientReduction.Sum }, Hidden: ActivationKind.Linear),
    ];

    [Theory]
    [InlineData("float32", 0)]
    [InlineData("float64", 0)]
    [InlineData("float32", 128)]
    [InlineData("float64", 128)]
    public void Trials_trained_together_end_bit_for_bit_where_each_ends_alone(string precision, int vectorBits)
    {
        if (precision == "float64") Same<double>(vectorBits);
        else Same<float>(vectorBits);
    }

    private static void Same<T>(int vectorBits) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = Data(seed: 4);
        var alone = Trials.Select((t, i) => Train<T>(data, t, i, vectorBits, seat: null)).ToArray();
        var group = new TrialGroup<T>(Trials.Length, data.Train.Data, data.Train.Count, Batch, Classes, threads: 2, vectorBits);
        var together = new Result[Trials.Length];
        var threads = Trials.Select((t, i) => new Thread(() => together[i] = Train<T>(data, t, i, vectorBits, group.Seats[i]))).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) Assert.True(th.Join(TimeSpan.FromMinutes(2)), "a trial of the group never ended");

        Assert.True(group.WideProducts > 0 && group.MemberProducts > group.WideProducts, "the group must have made wide products for this test to mean anything");
        for (int i = 0; i < Trials.Length; i++)
        {
            Assert.Equal(alone[i].Outcome, together[i].Outcome);
            Assert.Equal(alone[i].Epochs, together[i].Epochs);     // every epoch's losses and accuracies, as doubles, exactly
            Assert.Equal(alone[i].Weights, together[i].Weights);   // every weight and bias, bit for bit
        }
        Assert.Equal(TrainingEnd.Diverged, alone[^1].Outcome.End);
        Assert.Equal(2, alone[5].Outcome.EpochsCompleted);
        Assert.All(alone.Take(5), r => Assert.Equal(3, r.Outcome.EpochsCompleted));
    }

    [Fact]
    public void Trials_that_see_the_data_in_another_order_are_refused_not_trained_apart_silently()
    {
        var data = Data(seed: 4);
        var group = new TrialGroup<float>(2, data.Train.Data, data.Train.Count, Batch, Classes, threads: 1, vectorBits: 0);
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
        {
            try { Train<float>(data, Trials[0], i, 0, group.Seats[i], shuffleSeed: 9 + (ulong)i); }
            catch (Exception e) { errors[i] = e; }
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) Assert.True(th.Join(TimeSpan.FromMinutes(1)));
        Assert.All(errors, e => Assert.Contains("another order", e?.Message ?? ""));
    }

    private sealed record Result(TrainingOutcome Outcome, List<string> Epochs, List<string> Weights);

    private static Result Train<T>(DataSplits data, Trial t, int index, int vectorBits, TrialGroup<T>.Seat? seat, ulong shuffleSeed = 9)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var model = new ModelConfig
        {
            Layers = [.. t.Units.Select(u => new LayerConfig { Units = u, Activation = t.Hidden }), new LayerConfig { Units = Classes, Activation = ActivationKind.Softmax }],
            Init = new UniformInit { Low = -0.3, High = 0.3 },
        };
        var training = t.Training with { BatchSize = Batch, Epochs = t.Epochs, Shuffle = true };
        var net = ModelBuilder.Build<T>(model, Features, Batch, seed: 100 + index);
        net.VectorBits = vectorBits;
        var trainer = new Trainer<T>(net, Loss<T>.Create("cross_entropy"), Optimizer<T>.Create(training, net), training, new Rng(shuffleSeed));
        var epochs = new List<string>();
        var outcome = trainer.Train(data, m => epochs.Add(string.Join(" ", m.Splits.Select(s => $"{s.Split} {s.Loss:R} {s.Accuracy:R}"))), null,
            CancellationToken.None, seat: seat);
        var weights = net.Layers.SelectMany(l => l.W.Concat(l.B)).Select(v => double.CreateTruncating(v).ToString("R", System.Globalization.CultureInfo.InvariantCulture)).ToList();
        return new Result(outcome, epochs, weights);
    }

    /// <summary>Five classes of noisy prototypes, as pixels; train and test splits.</summary>
    private static DataSplits Data(int seed)
    {
        var rng = new Random(seed);
        var prototypes = Enumerable.Range(0, Classes).Select(_ => Enumerable.Range(0, Features).Select(_ => rng.Next(256)).ToArray()).ToArray();
        var labels = new int[Examples];
        var pixels = new byte[Examples * Features];
        for (int e = 0; e < Examples; e++)
        {
            labels[e] = rng.Next(Classes);
            for (int f = 0; f < Features; f++) pixels[e * Features + f] = (byte)Math.Clamp(prototypes[labels[e]][f] + rng.Next(-60, 61), 0, 255);
        }
        var all = Dataset.FromPixels("prototypes", pixels, labels, Features, Classes);
        var train = new DataSplit("train", all, Enumerable.Range(0, 180).ToArray());
        var test = new DataSplit("test", all, Enumerable.Range(180, 50).ToArray());
        return new DataSplits(train, null, test, new DatasetFingerprint("prototypes", "generated", 180, 0, 50, new Dictionary<string, string>()));
    }
}

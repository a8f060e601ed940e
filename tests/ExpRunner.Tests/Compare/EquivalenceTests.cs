using ExpRunner.Compare;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Compare;

/// <summary>Which configs are one configuration run twice: the rule, the sizes it needs, and where it is said (compare, sweep --dry-run).</summary>
public class EquivalenceTests
{
    private static Dictionary<string, string> Params(string reduction, string lr, string batch = "100", string momentum = "0", string decay = "0", string seed = "1") => new()
    {
        ["name"] = "x", ["seed"] = seed, ["training.optimizer"] = "sgd", ["training.optimizer.momentum"] = momentum,
        ["training.optimizer.weight_decay"] = decay, ["training.learning_rate"] = lr, ["training.batch_size"] = batch,
        ["training.gradient_reduction"] = reduction, ["training.threads"] = "1",
    };

    [Fact]
    public void Sum_at_lr_and_mean_at_lr_times_B_are_one_configuration_only_under_the_rule()
    {
        Assert.Equal((0.01, 0.01), Equivalence.EffectiveLr(Params("mean", "1.0"))!.Value);
        Assert.Equal("0.01", Equivalence.EffectiveText(Params("sum", "0.01")));
        var split = Params("mean", "1.0");
        split.Remove("training.gradient_reduction");
        (split["training.gradient_reduction.weights"], split["training.gradient_reduction.biases"]) = ("sum", "mean");
        Assert.Equal("w 1 b 0.01", Equivalence.EffectiveText(split));

        Assert.NotNull(Equivalence.Key(Params("sum", "0.01"), 8000));
        Assert.Equal(Equivalence.Key(Params("sum", "0.01"), 8000), Equivalence.Key(Params("mean", "1.0"), 8000));
        Assert.Equal(Equivalence.Key(Params("sum", "0.01"), 8000), Equivalence.Key(Params("mean", "1.0") is var p ? new Dictionary<string, string>(p) { ["name"] = "y", ["training.threads"] = "2" } : null!, 8000));
        Assert.NotEqual(Equivalence.Key(Params("sum", "0.01"), 8000), Equivalence.Key(Params("mean", "0.01"), 8000));
        Assert.NotEqual(Equivalence.Key(Params("sum", "0.01", seed: "1"), 8000), Equivalence.Key(Params("mean", "1.0", seed: "2"), 8000));
        Assert.Null(Equivalence.Key(Params("sum", "0.01"), 8050));                 // a last batch of 50: mean divides it by 50
        Assert.Null(Equivalence.Key(Params("sum", "0.01"), null));                 // the training set's size unknown
        Assert.Null(Equivalence.Key(Params("sum", "0.01", momentum: "0.9"), 8000));
        Assert.Null(Equivalence.Key(Params("sum", "0.01", decay: "0.001"), 8000));
        Assert.Null(Equivalence.Key(new Dictionary<string, string>(Params("sum", "0.01")) { ["training.optimizer"] = "adam" }, 8000));
        // One full batch of all 80 examples: mean divides by 80, not by the batch_size of 100.
        Assert.Equal(Equivalence.Key(Params("sum", "0.01"), 80), Equivalence.Key(Params("mean", "0.8"), 80));
        Assert.Equal([[1, 2]], Equivalence.Classes([(Params("mean", "0.01"), 8000), (Params("mean", "1.0"), 8000), (Params("sum", "0.01"), 8000), (Params("sum", "1.0"), 8000)]));
    }

    [Fact]
    public void The_training_sets_size_is_told_without_loading_the_data_and_agrees_with_loading_it()
    {
        string mnist = Repo.Data("mnist");
        foreach (var yaml in new[]
        {
            "dataset: { name: xor, samples: 500, validation_split: 0.1 }",
            "dataset: { name: spirals, samples: 333, test_split: 0.3, train_limit: 100, validation_split: 0.25 }",
            $"dataset: {{ name: mnist, path: {mnist}, validation_split: 0.1 }}",
            $"dataset: {{ name: mnist, path: {mnist}, train_limit: 999 }}",
        })
        {
            bool image = yaml.Contains("mnist", StringComparison.Ordinal), spirals = yaml.Contains("spirals", StringComparison.Ordinal);
            string output = image ? "{ units: 10, activation: softmax }" : spirals ? "{ units: 2, activation: softmax }" : "{ units: 1, activation: sigmoid }";
            var c = ConfigLoader.Parse($"name: t\n{yaml}\nmodel: {{ layers: [ {output} ] }}\nloss: {(image || spirals ? "cross_entropy" : "bce")}\n", "t.yaml").Config;
            Assert.Equal(DatasetLoader.Load(c.Dataset, c.Seed).Fingerprint.TrainCount, DatasetLoader.TrainCount(c.Dataset));
        }
        var missing = ConfigLoader.Parse("name: t\ndataset: { name: mnist, path: /nonexistent }\nmodel: { layers: [ { units: 10, activation: softmax } ] }\nloss: cross_entropy\n", "t.yaml").Config;
        Assert.Null(DatasetLoader.TrainCount(missing.Dataset));
    }

    [Fact]
    public void Compare_and_the_sweeps_dry_run_say_which_are_one_configuration()
    {
        using var dir = new TempDir();
        string yaml = dir.Write("same.yaml", """
            name: same
            seed: 3
            dataset: { name: xor, samples: 200 }
            model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.5, batch_size: 20, epochs: 3 }
            sweep:
              grid: { training.gradient_reduction: [mean, sum], training.learning_rate: [0.05, 1.0] }
            """);
        var dry = InProcess.Run("sweep", yaml, "--dry-run", "--runs", dir.File("runs"));
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("1 trial repeats another's configuration", dry.Stderr + dry.Stdout);
        Assert.Contains("trials 1 ≡ 2", dry.Stderr + dry.Stdout); // mean@1.0 ≡ sum@0.05 (160 training points, batches of 20)
        var sweep = InProcess.Run("sweep", yaml, "--runs", dir.File("runs"));
        Assert.True(sweep.ExitCode == 0, sweep.ToString());
        Assert.Contains("trials 1 ≡ 2", sweep.Stderr + sweep.Stdout); // said at the start too
        var r = InProcess.Run("compare", "--runs", dir.File("runs"), "--sweep", "latest", "--format", "csv");
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Trim().Split('\n');
        var header = lines[0].Split(',').ToList();
        int lr = header.IndexOf("effective_lr"), same = header.IndexOf("same_config"), reduction = header.IndexOf("training.gradient_reduction"), rate = header.IndexOf("training.learning_rate");
        Assert.True(lr >= 0 && same >= 0, lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToDictionary(c => c[reduction] + "@" + double.Parse(c[rate], System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("0.05", rows["mean@1"][lr]);
        Assert.Equal(rows["mean@1"][same], rows["sum@0.05"][same]);
        Assert.StartsWith("≡", rows["sum@0.05"][same]);
        Assert.Equal("", rows["mean@0.05"][same]);
        // And their metrics are the same to the last digit: one configuration run twice.
        int acc = header.IndexOf("test_accuracy"), loss = header.IndexOf("test_loss");
        Assert.Equal(rows["mean@1"][loss], rows["sum@0.05"][loss]);
        Assert.Equal(rows["mean@1"][acc], rows["sum@0.05"][acc]);
    }
}

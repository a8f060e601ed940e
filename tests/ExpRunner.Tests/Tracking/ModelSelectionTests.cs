using ExpRunner.Config;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Tracking;

/// <summary>Nothing is chosen on the test set: the best epoch and a sweep's best trial come from validation accuracy, else training loss.</summary>
public class ModelSelectionTests
{
    private const string Config = """
        name: sel
        seed: 3
        dataset: { name: moons, samples: 300, noise: 0.3 }
        model: { layers: [ { units: 8, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 16, epochs: 12 }
        """;

    [Fact]
    public void Without_a_validation_split_the_best_epoch_is_the_lowest_training_loss_never_the_best_test_accuracy()
    {
        using var dir = new TempDir();
        var run = ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(Config, "sel.yaml"), new RunOptions { RunsRoot = dir.Path, Cancel = TestContext.Current.CancellationToken });
        var metrics = run.Folder.ReadMetrics();
        var train = metrics.Where(m => m.Split == "train").ToList();
        int lowest = train.OrderBy(m => m.Loss).ThenBy(m => m.Epoch).First().Epoch;
        Assert.Equal("train_loss", run.Summary.BestBy);
        Assert.Equal(lowest, run.Summary.BestEpoch);
        Assert.Equal(train.Single(m => m.Epoch == lowest).Loss, run.Summary.Best["train_loss"]);

        using var validated = new TempDir();
        var withValidation = ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(Config.Replace("noise: 0.3 }", "noise: 0.3, validation_split: 0.2 }"), "sel.yaml"),
            new RunOptions { RunsRoot = validated.Path, Cancel = TestContext.Current.CancellationToken });
        Assert.Equal("validation_accuracy", withValidation.Summary.BestBy);
        var val = withValidation.Folder.ReadMetrics().Where(m => m.Split == "validation").OrderByDescending(m => m.Accuracy).ThenBy(m => m.Epoch).First();
        Assert.Equal(val.Epoch, withValidation.Summary.BestEpoch);
    }

    [Fact]
    public void A_sweeps_best_trial_is_chosen_on_training_loss_without_a_validation_split_and_says_so()
    {
        using var dir = new TempDir();
        var r = InProcess.Run("sweep", dir.Write("sel.yaml", Config + "\nsweep: { grid: { training.learning_rate: [0.05, 0.5, 2.0] } }\n"), "--runs", dir.File("runs"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("by train loss (no validation split; never chosen on the test set)", r.Stdout);
        var losses = Directory.GetDirectories(dir.File("runs/sel")).Select(d => RunFolder.Open(d).ReadSummary()!)
            .ToDictionary(s => s.Params["training.learning_rate"], s => s.Final["train_loss"]);
        string best = losses.OrderBy(kv => kv.Value).First().Key;
        Assert.Contains($"* best: trial {Array.IndexOf(["0.05", "0.5", "2"], best)} (learning_rate={best} ", r.Stdout);
    }
}

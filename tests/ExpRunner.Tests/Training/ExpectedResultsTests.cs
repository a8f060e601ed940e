using ExpRunner.Config;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Training;

/// <summary>The shipped experiments reproduce what their headers promise, on the data `make data` provides.</summary>
public class ExpectedResultsTests
{
    private static double TestAccuracy(string experiment, params string[] overrides)
    {
        Repo.Data("mnist");
        using var dir = new TempDir();
        string cwd = Environment.CurrentDirectory;
        var loaded = ConfigLoader.Load(Repo.Experiments(experiment), overrides.Append($"dataset.path={Path.Combine(Repo.Root, "data", "mnist")}").ToList());
        var result = ExpRunner.ExperimentRunner.Run(loaded, new RunOptions { RunsRoot = dir.Path });
        Assert.Equal(RunStatus.Finished, result.Status);
        return result.Summary.Final["test_accuracy"];
    }

    [Fact]
    public void Summed_gradients_at_lr_0_01_learn_the_thesis_network() =>
        Assert.True(TestAccuracy("mnist-sgd.yaml", "training.epochs=30") is var a && a >= 0.87, $"mnist-sgd test accuracy {a}");

    [Fact]
    public void Averaged_gradients_at_the_same_lr_barely_learn() =>
        Assert.True(TestAccuracy("mnist-mean.yaml", "training.epochs=30") is var a && a <= 0.30, $"mnist-mean test accuracy {a}");

    [Fact]
    public void Nielsens_network_reaches_ninety_percent() =>
        Assert.True(TestAccuracy("nielsen-mnist.yaml") is var a && a >= 0.90, $"nielsen-mnist test accuracy {a}");

    [Fact]
    public void Under_adam_averaged_and_summed_gradients_learn_alike()
    {
        double mean = TestAccuracy("adam-mean-vs-sum.yaml", "training.gradient_reduction=mean");
        double sum = TestAccuracy("adam-mean-vs-sum.yaml", "training.gradient_reduction=sum");
        Assert.True(mean >= 0.75 && sum >= 0.75, $"adam test accuracy: mean {mean}, sum {sum}");
        Assert.True(Math.Abs(mean - sum) <= 0.01, $"adam: mean {mean} vs sum {sum}");
    }
}

using System.Text.Json;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Training;

/// <summary>`exprunner lr-find`: the range test on a problem whose divergence is known, mean's curve as sum's shifted by B, every optimizer, a run folder like any other.</summary>
public class RangeTestTests
{
    private static RunResult Find(string yaml, RangeTestSpec spec, string runs) =>
        ExperimentRunner.Run(ConfigLoader.Parse(yaml, "lr.yaml"), new RunOptions { RunsRoot = runs, RangeTest = spec, Cancel = TestContext.Current.CancellationToken });

    [Fact]
    public void Full_batch_gradient_descent_on_a_linear_model_diverges_just_past_two_over_the_largest_curvature()
    {
        // Linear regression, mse, one full batch: L(w) = (1/n) Σ (w·x + b − y)², whose Hessian is H = (2/n) Σ x̃x̃ᵀ (x̃ = [x, 1]).
        // Gradient descent converges for lr < 2/λmax(H) and diverges beyond it.
        const string yaml = """
            name: linear
            precision: float64
            dataset: { name: gaussian_quantiles, samples: 200, features: 2, cov: 4 }
            model: { layers: [ { units: 1, activation: linear } ], init: { scheme: uniform, low: -0.1, high: 0.1 } }
            loss: mse
            training: { optimizer: sgd, batch_size: 160, gradient_reduction: mean, shuffle: false }
            """;
        var config = ConfigLoader.Parse(yaml, "lr.yaml").Config;
        var data = DatasetLoader.Load(config.Dataset, config.Seed);
        int n = data.Train.Count;
        Assert.Equal(160, n);
        var h = new double[3, 3];
        foreach (int e in data.Train.Indices)
        {
            double[] x = [data.Train.Data.Feature(e, 0), data.Train.Data.Feature(e, 1), 1];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) h[i, j] += 2.0 / n * x[i] * x[j];
        }
        double[] v = [1, 1, 1];
        double lambda = 0;
        for (int k = 0; k < 500; k++) // power iteration (H is symmetric positive definite)
        {
            var w = new double[3];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) w[i] += h[i, j] * v[j];
            lambda = Math.Sqrt(w.Sum(c => c * c));
            v = [.. w.Select(c => c / lambda)];
        }
        double critical = 2 / lambda;
        using var dir = new TempDir();
        var result = Find(yaml, new RangeTestSpec(1e-3, 100, 200), dir.Path);
        Assert.Equal(RunStatus.Finished, result.Status);
        double diverged = result.Summary.Final["diverged_lr"];
        Assert.True(diverged > critical && diverged < 4 * critical, $"diverged at {diverged}, 2/λmax = {critical}");
        Assert.True(result.Summary.Final["stopped_lr"] >= diverged, $"stopped at {result.Summary.Final["stopped_lr"]}");
        Assert.True(result.Summary.Final["steepest_lr"] < critical, $"steepest {result.Summary.Final["steepest_lr"]}, 2/λmax = {critical}");
        Assert.Contains("passed 4× its lowest", result.Record.Reason);
    }

    private const string Xor = """
        name: lrx
        precision: float64
        seed: 2
        dataset: { name: xor, samples: 200 }
        model: { layers: [ { units: 8, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { optimizer: sgd, batch_size: 20, gradient_reduction: mean }
        """;

    [Fact]
    public void Under_sgd_means_curve_is_sums_shifted_by_the_batch_size()
    {
        // sum at lr ≡ mean at lr·B: the test from lr·B for mean retraces sum's step for step.
        using var dir = new TempDir();
        const int B = 20;
        var sum = Find(Xor.Replace("gradient_reduction: mean", "gradient_reduction: sum"), new RangeTestSpec(1e-6, 1, 80, double.PositiveInfinity), dir.File("sum"));
        var mean = Find(Xor, new RangeTestSpec(1e-6 * B, 1 * B, 80, double.PositiveInfinity), dir.File("mean"));
        var (s, m) = (StepLog.ReadRecord(sum.Folder.PathOf(StepLog.File)), StepLog.ReadRecord(mean.Folder.PathOf(StepLog.File)));
        Assert.Equal(80, s.Steps.Count);
        Assert.Equal(["smoothed_loss"], s.ProbeColumns);
        for (int i = 0; i < s.Steps.Count; i++)
        {
            Assert.True(Math.Abs(m.Steps[i].LearningRate / s.Steps[i].LearningRate - B) < 1e-9 * B, $"step {i + 1}: rates {m.Steps[i].LearningRate} vs {s.Steps[i].LearningRate}");
            Assert.True(Math.Abs(m.Steps[i].Loss - s.Steps[i].Loss) <= 1e-9 * Math.Max(1, Math.Abs(s.Steps[i].Loss)), $"step {i + 1}: loss {m.Steps[i].Loss} vs {s.Steps[i].Loss}");
        }
        Assert.Equal(B * sum.Summary.Final["steepest_lr"], mean.Summary.Final["steepest_lr"], 1e-9 * B * sum.Summary.Final["steepest_lr"]);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("{ name: sgd, momentum: 0.9 }")]
    [InlineData("adam")]
    [InlineData("adamw")]
    [InlineData("rmsprop")]
    [InlineData("adagrad")]
    public void Every_optimizer_and_both_reductions_get_a_range_test_in_a_run_folder_like_any_other(string optimizer)
    {
        using var dir = new TempDir();
        foreach (var reduction in new[] { "mean", "sum" })
        {
            var r = InProcess.Run("lr-find", dir.Write("lr.yaml", Xor.Replace("optimizer: sgd", "optimizer: " + optimizer)), "--runs", dir.File("runs"),
                "--set", "training.gradient_reduction=" + reduction, "--steps", "60", "--json");
            Assert.True(r.ExitCode == 0, r.ToString());
            var summary = JsonDocument.Parse(r.Stdout).RootElement;
            Assert.Equal("FINISHED", summary.GetProperty("status").GetString());
            var final = summary.GetProperty("final");
            Assert.True(final.GetProperty("minimum_lr").GetDouble() is >= 1e-8 and <= 1, r.Stdout); // a tenth of a rate tested
            Assert.True(final.GetProperty("min_smoothed_loss").GetDouble() is > 0 and < 1, r.Stdout);
            Assert.Equal("60", summary.GetProperty("params").GetProperty("lr_find.steps").GetString());
        }
        var folders = Directory.GetDirectories(dir.File("runs/lrx"));
        Assert.Equal(2, folders.Length);
        Assert.All(folders, f => Assert.True(File.Exists(Path.Combine(f, "lr_find.svg")) && File.Exists(Path.Combine(f, StepLog.File)), f));
        Assert.All(folders, f => Assert.Equal(RangeTestSpec.Kind, RunFolder.Open(f).ReadRecord()!.Kind));
        // Compared like any runs: the suggestions are columns.
        var compare = InProcess.Run("compare", "--runs", dir.File("runs"), "--format", "csv");
        Assert.True(compare.ExitCode == 0, compare.ToString());
        Assert.Contains("minimum_lr", compare.Stdout.Split('\n')[0]);
        Assert.Contains("training.gradient_reduction", compare.Stdout.Split('\n')[0]);
    }

    [Fact]
    public void Bad_settings_are_refused_before_anything_runs()
    {
        using var dir = new TempDir();
        string yaml = dir.Write("lr.yaml", Xor);
        foreach (var (args, message) in new[]
        {
            (new[] { "--start-lr", "0" }, "--start-lr 0: a learning rate above 0"),
            (new[] { "--start-lr", "1", "--end-lr", "0.1" }, "--end-lr 0.1: above --start-lr (1)"),
            (new[] { "--steps", "1" }, "--steps 1: between 2 and 1,000,000"),
            (new[] { "--stop-factor", "0.5" }, "--stop-factor 0.5: above 1"),
        })
        {
            var r = InProcess.Run(["lr-find", yaml, "--runs", dir.File("runs"), .. args]);
            Assert.True(r.ExitCode == 2, r.ToString());
            Assert.Contains(message, r.Stderr);
        }
        Assert.False(Directory.Exists(dir.File("runs")));
    }
}

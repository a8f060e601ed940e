using System.Text.Json;
using System.Diagnostics;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>The real `exprunner` binary, run as a user would, into a temporary working folder.</summary>
public class RunCommandTests
{
    private const string Xor = """
        name: xor-test
        seed: 3
        dataset: { name: xor, samples: 400, noise: 0.05 }
        model:
          layers:
            - { units: 8, activation: tanh }
            - { units: 1, activation: sigmoid }
          init: { scheme: xavier_uniform }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 16, epochs: 40 }
        """;

    private static string OnlyRun(string root, string experiment)
    {
        var dirs = Directory.GetDirectories(Path.Combine(root, "runs", experiment));
        return Assert.Single(dirs);
    }

    [Fact]
    public void A_run_leaves_a_complete_run_folder_and_exits_zero()
    {
        using var dir = new TempDir();
        string config = dir.Write("xor.yaml", Xor);
        var r = ExpRunnerProcess.Run(dir.Path, "run", config, "--set", "training.epochs=30");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("epoch 30:", r.Stderr);

        string run = OnlyRun(dir.Path, "xor-test");
        foreach (var f in new[] { "config.yaml", "run.json", "metrics.csv", "summary.json", "model.safetensors", "init.safetensors", "log.txt" })
            Assert.True(File.Exists(Path.Combine(run, f)), $"{f} missing in {run}");
        Assert.Empty(Directory.GetFiles(run, "*.tmp"));

        var folder = RunFolder.Open(run);
        var record = folder.ReadRecord()!;
        Assert.Equal(RunStatus.Finished, record.Status);
        Assert.Equal(0, record.ExitCode);
        Assert.Equal(["training.epochs=30"], record.Overrides);
        Assert.Equal("xor", record.Dataset!.Name);
        Assert.Equal(320, record.Dataset.TrainCount);
        Assert.Equal(64, record.Dataset.Sha256["generated"].Length);

        var metrics = folder.ReadMetrics();
        Assert.Equal(60, metrics.Count); // 30 epochs × (train, test)
        Assert.Equal(20L * 30, metrics[^1].Step); // 320 / 16 = 20 steps per epoch

        var summary = folder.ReadSummary()!;
        Assert.Equal(30, summary.EpochsRun);
        Assert.True(summary.Final["test_accuracy"] >= 0.9, $"test accuracy {summary.Final["test_accuracy"]}");
        Assert.Equal("30", summary.Params["training.epochs"]);

        string yaml = File.ReadAllText(Path.Combine(run, "config.yaml"));
        Assert.Contains("epochs: 30", yaml);
        Assert.Contains("FINISHED", File.ReadAllText(Path.Combine(run, "log.txt")));

        var list = ExpRunnerProcess.Run(dir.Path, "list");
        Assert.Contains(folder.Id, list.Stdout);
        Assert.Contains("FINISHED", list.Stdout);
        var show = ExpRunnerProcess.Run(dir.Path, "show", folder.Id[..12]);
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("training.learning_rate", show.Stdout);
        var eval = ExpRunnerProcess.Run(dir.Path, "eval", run, "--json");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        using var doc = JsonDocument.Parse(eval.Stdout);
        Assert.Equal(summary.Final["test_accuracy"], doc.RootElement.GetProperty("accuracy").GetDouble(), 6);
        Assert.True(doc.RootElement.GetProperty("examples_per_second").GetDouble() > 0);
        Assert.Equal(1, doc.RootElement.GetProperty("threads").GetInt32());
        var twoThreads = ExpRunnerProcess.Run(dir.Path, "eval", run, "--json", "--threads", "2");
        Assert.True(twoThreads.ExitCode == 0, twoThreads.ToString());
        using (var two = JsonDocument.Parse(twoThreads.Stdout))
            Assert.Equal(doc.RootElement.GetProperty("accuracy").GetDouble(), two.RootElement.GetProperty("accuracy").GetDouble());
        var badThreads = ExpRunnerProcess.Run(dir.Path, "eval", run, "--threads", "0");
        Assert.Equal(2, badThreads.ExitCode);
        Assert.Contains("--threads 0: must be between 1 and 256", badThreads.Stderr);
        var export = ExpRunnerProcess.Run(dir.Path, "export", run);
        Assert.True(export.ExitCode == 0, export.ToString());
        var rows = File.ReadAllLines(Path.Combine(run, "export", "layers.0.weight.csv"));
        Assert.Equal("out,in_0,in_1", rows[0]);
        Assert.Equal(9, rows.Length); // header + 8 units
        Assert.Equal(3, rows[1].Split(',').Length);
        Assert.Equal(["out,bias", "0"], File.ReadAllLines(Path.Combine(run, "export", "layers.0.bias.csv"))[..2].Select(l => l.Split(',')[0] == "0" ? "0" : l));
    }

    [Fact]
    public void Same_config_and_seed_give_identical_metrics_whatever_the_thread_count()
    {
        using var dir = new TempDir();
        string config = dir.Write("xor.yaml", Xor.Replace("xor-test", "det"));
        int calls = 0;
        string[] Metrics(params string[] extra)
        {
            string runs = dir.File("r" + calls++); // one runs folder per call, so each holds exactly this run
            var r = ExpRunnerProcess.Run(dir.Path, ["run", config, "-q", "--runs", runs, .. extra]);
            Assert.True(r.ExitCode == 0, r.ToString());
            string run = Directory.GetDirectories(Path.Combine(runs, "det")).Single();
            // Everything but the wall-clock columns (seconds, timestamp).
            return File.ReadAllLines(Path.Combine(run, "metrics.csv")).Select(l => string.Join(',', l.Split(',').Take(6))).ToArray();
        }
        var first = Metrics();
        var second = Metrics();
        Assert.Equal(first, second);
        Assert.Equal(first, Metrics("--set", "training.threads=2"));
        Assert.NotEqual(first, Metrics("--set", "seed=4"));
    }

    [Fact]
    public void A_run_whose_loss_explodes_stops_as_diverged_and_keeps_its_metrics()
    {
        using var dir = new TempDir();
        string config = dir.Write("boom.yaml", Xor.Replace("xor-test", "boom").Replace("activation: sigmoid", "activation: linear")
            .Replace("loss: bce", "loss: mse").Replace("learning_rate: 0.5", "learning_rate: 50"));
        var r = ExpRunnerProcess.Run(dir.Path, "run", config);
        Assert.True(r.ExitCode == 3, r.ToString());
        var folder = RunFolder.Open(OnlyRun(dir.Path, "boom"));
        var record = folder.ReadRecord()!;
        Assert.Equal(RunStatus.Diverged, record.Status);
        Assert.Contains("loss became", record.Reason);
        Assert.Equal(RunStatus.Diverged, folder.ReadSummary()!.Status);
        Assert.True(File.Exists(folder.PathOf("model.safetensors")));
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public void A_signal_stops_the_run_cleanly_and_marks_it_killed(string signal)
    {
        using var dir = new TempDir();
        string config = dir.Write("long.yaml", Xor.Replace("xor-test", "long").Replace("epochs: 40", "epochs: 1000000"));
        using var p = ExpRunnerProcess.Start(dir.Path, null, "run", config, "-q");
        string? metrics = null;
        Eventually.Reach(() =>
        {
            var runs = Path.Combine(dir.Path, "runs", "long");
            metrics = Directory.Exists(runs) ? Directory.GetFiles(runs, "metrics.csv", SearchOption.AllDirectories).FirstOrDefault() : null;
            return metrics is not null && File.ReadAllLines(metrics).Length > 3;
        }, "the run training (metrics.csv growing)");
        Process.Start("kill", [$"-{signal}", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        var r = ExpRunnerProcess.Wait(p, TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 130, r.ToString());
        var folder = RunFolder.Open(Path.GetDirectoryName(metrics)!);
        Assert.Equal(RunStatus.Killed, folder.ReadRecord()!.Status);
        Assert.Equal(RunStatus.Killed, folder.ReadSummary()!.Status);
        Assert.True(folder.ReadMetrics().Count >= 2);
        Assert.True(File.Exists(folder.PathOf("model.safetensors")));
        Assert.Empty(Directory.GetFiles(folder.Dir, "*.tmp"));
    }

    [Fact]
    public void Eight_runs_started_at_once_leave_eight_distinct_complete_folders()
    {
        using var dir = new TempDir();
        string config = dir.Write("xor.yaml", Xor.Replace("xor-test", "many").Replace("epochs: 40", "epochs: 5"));
        var procs = Enumerable.Range(0, 8).Select(_ => ExpRunnerProcess.Start(dir.Path, null, "run", config, "-q")).ToList();
        var results = procs.Select(p => ExpRunnerProcess.Wait(p, TimeSpan.FromMinutes(2))).ToList();
        procs.ForEach(p => p.Dispose());
        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.ToString()));
        var runs = Directory.GetDirectories(Path.Combine(dir.Path, "runs", "many"));
        Assert.Equal(8, runs.Length);
        Assert.All(runs, run =>
        {
            var f = RunFolder.Open(run);
            Assert.Equal(RunStatus.Finished, f.ReadRecord()!.Status);
            Assert.Equal(10, f.ReadMetrics().Count);
            Assert.Equal(5, f.ReadSummary()!.EpochsRun);
        });
    }

    [Fact]
    public void Missing_data_is_explained_and_leaves_no_run_folder()
    {
        using var dir = new TempDir();
        string config = dir.Write("m.yaml", File.ReadAllText(Repo.Experiments("mnist-sgd.yaml")).Replace("path: data/mnist", $"path: {dir.File("nowhere")}"));
        var r = ExpRunnerProcess.Run(dir.Path, "run", config);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("train-images-idx3-ubyte", r.Stderr);
        Assert.Contains("make data", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "runs")));
    }

    [Fact]
    public void Predict_draws_a_digit_and_names_label_and_prediction()
    {
        using var dir = new TempDir();
        var run = ExpRunnerProcess.Run(Repo.Root, "run", Repo.Experiments("mnist-sgd.yaml"), "-q", "--runs", dir.File("runs"), "--set", "dataset.train_limit=2000");
        Assert.True(run.ExitCode == 0, run.ToString());
        string folder = Directory.GetDirectories(dir.File("runs/mnist-sgd")).Single();
        var r = ExpRunnerProcess.Run(Repo.Root, "predict", folder, "--index", "17");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("test example 17: label", r.Stdout);
        Assert.Contains("@@", r.Stdout); // the ink of the digit
        Assert.Equal(30, r.Stdout.Split('\n').Count(l => l.StartsWith('|') || l.StartsWith('+')));
        var e = ExpRunnerProcess.Run(Repo.Root, "eval", folder);
        Assert.True(e.ExitCode == 0, e.ToString());
        Assert.Contains("confusion matrix", e.Stdout);
        var bad = ExpRunnerProcess.Run(Repo.Root, "predict", folder, "--index", "999999");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("outside the test split", bad.Stderr);
    }

    [Fact]
    public void The_first_runs_screen_says_what_its_number_means_on_the_data_at_hand()
    {
        string mnist = Repo.Data("mnist");
        using var dir = new TempDir();
        var r = InProcess.Run("run", Repo.Experiments("mnist-sgd.yaml"), "--runs", dir.File("runs"), "--set", $"dataset.path={mnist}", "--set", "training.epochs=1");
        Assert.True(r.ExitCode == 0, r.ToString());
        int train = RunFolder.Open(Directory.GetDirectories(dir.File("runs/mnist-sgd")).Single()).ReadRecord()!.Dataset!.TrainCount;
        if (train < 60_000)
            Assert.Contains($"this mnist has {train:N0} of the full set's 60,000 training examples: an epoch here is {(train + 99) / 100:N0} steps, not 600", r.Stdout.ReplaceLineEndings(" ").Replace("  ", " "));
        else
            Assert.DoesNotContain("of the full set's", r.Stdout);
        // Asked for (train_limit): no note.
        var limited = InProcess.Run("run", Repo.Experiments("mnist-sgd.yaml"), "--runs", dir.File("runs"), "--set", $"dataset.path={mnist}", "--set", "training.epochs=1", "--set", "dataset.train_limit=1000");
        Assert.True(limited.ExitCode == 0, limited.ToString());
        Assert.DoesNotContain("of the full set's", limited.Stdout);
    }
}

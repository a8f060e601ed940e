using ExpRunner.Sweeps;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>Pruning and model-based search as a user runs them: real trial processes deciding from the sweep folder.</summary>
public class SweepSearchTests
{
    private const string Config = """
        name: moons-search
        seed: 3
        dataset: { name: moons, samples: 600, noise: 0.2, validation_split: 0.2 }
        model:
          layers:
            - { units: 8, activation: tanh }
            - { units: 2, activation: softmax }
        loss: cross_entropy
        training: { learning_rate: 0.1, batch_size: 32, epochs: 9 }
        sweep:
          search: { method: tpe, trials: 8, params: { training.learning_rate: { loguniform: [1e-4, 10] }, training.batch_size: { choice: [16, 64] } }, metric: validation_loss, startup_trials: 3 }
          prune: { metric: validation_loss, min_epochs: 1, reduction_factor: 3 }
        """;

    private static (SweepRecord Sweep, SweepStore Store) Run(TempDir dir, string runs)
    {
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", dir.File("m.yaml"), "--runs", runs, "--jobs", "1");
        Assert.True(r.ExitCode == 0, r.ToString());
        var store = new SweepStore(runs);
        return (store.Read("latest"), store);
    }

    [Fact]
    public void A_pruned_search_is_reproducible_its_pruned_trials_are_complete_to_their_epoch_and_resume_keeps_them()
    {
        using var dir = new TempDir();
        dir.Write("m.yaml", Config);
        var (a, store) = Run(dir, dir.File("runs-a"));
        var (b, _) = Run(dir, dir.File("runs-b"));
        // The same config and seed, one trial at a time: the same proposals, the same decisions.
        Assert.Equal(a.Trials.Select(t => (t.Label, t.Status)), b.Trials.Select(t => (t.Label, t.Status)));
        Assert.Equal(Asha.Read(store.DirOf(a.Id)).Select(e => (e.Trial, e.Rung, e.Value, e.Decision)),
            Asha.Read(new SweepStore(dir.File("runs-b")).DirOf(b.Id)).Select(e => (e.Trial, e.Rung, e.Value, e.Decision)));
        Assert.All(a.Trials, t => Assert.Contains("training.learning_rate=", t.Label));
        Assert.Equal(RunStatus.Finished, a.Status);

        var pruned = a.Trials.Where(t => t.Status == RunStatus.Pruned).ToList();
        Assert.NotEmpty(pruned);
        Assert.Contains(a.Trials, t => t.Status == RunStatus.Finished);
        foreach (var t in pruned)
        {
            var folder = RunFolder.Open(store.RunDirOf(t)!);
            var record = folder.ReadRecord()!;
            var summary = folder.ReadSummary()!;
            int epoch = summary.EpochsRun;
            Assert.Contains(epoch, new[] { 1, 3 });                                   // a rung
            Assert.Equal(RunStatus.Pruned, record.Status);
            Assert.StartsWith($"pruned at epoch {epoch}: validation_loss", record.Reason);
            Assert.Equal(epoch, folder.ReadMetrics().Max(m => m.Epoch));             // complete up to the epoch it reached
            var steps = StepLog.Read(folder.PathOf(StepLog.File));                    // every step up to it, none after
            Assert.Equal(epoch, steps.Max(s => s.Epoch));
            Assert.Equal(Enumerable.Range(1, steps.Count).Select(i => (long)i), steps.Select(s => s.Step));
            Assert.Equal(steps.Count / epoch * epoch, steps.Count);
            Assert.True(File.Exists(folder.PathOf(RunFolder.WeightsFile)));
            Assert.False(File.Exists(folder.PathOf(RunFolder.CheckpointFile)));
            var entry = Asha.Read(store.DirOf(a.Id)).Single(e => e.Trial == t.Index && e.Decision == Asha.Pruned);
            Assert.Equal(summary.Final["validation_loss"], entry.Value!.Value, 12);   // decided on what the folder says
        }

        // Resume: nothing to run again; the folders are untouched.
        var before = pruned.Select(t => File.ReadAllText(Path.Combine(store.RunDirOf(t)!, RunFolder.RecordFile))).ToList();
        var resume = ExpRunnerProcess.Run(dir.Path, "sweep", "--resume", a.Id, "--runs", dir.File("runs-a"));
        Assert.True(resume.ExitCode == 0, resume.ToString());
        Assert.Contains("0 of 8 trials to run or follow", resume.Stderr);
        Assert.Equal(before, pruned.Select(t => File.ReadAllText(Path.Combine(store.RunDirOf(t)!, RunFolder.RecordFile))));

        // compare shows them, and the chart ends their curves with a mark.
        var compare = ExpRunnerProcess.Run(dir.Path, "compare", "--sweep", a.Id, "--runs", dir.File("runs-a"), "--format", "csv", "--plot", dir.File("c.svg"));
        Assert.True(compare.ExitCode == 0, compare.ToString());
        Assert.Equal(pruned.Count, compare.Stdout.Split('\n').Count(l => l.Contains(RunStatus.Pruned)));
        string svg = File.ReadAllText(dir.File("c.svg"));
        Assert.Equal(pruned.Count * 2, svg.Split("class=\"end-mark\"").Length - 1); // loss and accuracy (8 runs: no train curves)
        Assert.Contains("(pruned at epoch", svg);
    }

    [Theory]
    [InlineData("sweep:\n  grid: { training.epochs: [1, 2] }\n  search: { trials: 2, params: { training.learning_rate: { uniform: [0.1, 1] } } }", "takes the place of grid, zip and random")]
    [InlineData("sweep:\n  repeats: 2\n  search: { trials: 2, params: { training.learning_rate: { uniform: [0.1, 1] } } }", "cannot be combined with search")]
    [InlineData("sweep:\n  search: { trials: 2, metric: validation_acc, params: { training.learning_rate: { uniform: [0.1, 1] } } }", "did you mean 'validation_accuracy'")]
    [InlineData("sweep:\n  prune: { metric: validation_loss, min_epochs: 9 }", "must be below training.epochs (9)")]
    [InlineData("sweep:\n  prune: { metric: validation_loss, reduction_factor: 1 }", "reduction_factor")]
    public void Search_and_prune_settings_that_cannot_work_are_refused_at_their_line(string sweep, string message)
    {
        using var dir = new TempDir();
        string text = Config[..Config.IndexOf("sweep:", StringComparison.Ordinal)] + sweep + "\n";
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", dir.Write("m.yaml", text), "--dry-run");
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains(message, r.Stderr);
        Assert.Contains("m.yaml:", r.Stderr);
    }

    [Fact]
    public void A_validation_metric_without_a_validation_split_and_detach_with_a_search_are_refused()
    {
        using var dir = new TempDir();
        var r = ExpRunnerProcess.Run(dir.Path, "sweep", dir.Write("m.yaml", Config.Replace(", validation_split: 0.2", "")), "--dry-run");
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("sweep.search.metric", r.Stderr);
        Assert.Contains("validation_loss needs a validation split", r.Stderr);
        var d = ExpRunnerProcess.Run(dir.Path, "sweep", dir.Write("n.yaml", Config), "--executor", "slurm", "--detach");
        Assert.True(d.ExitCode == 2, d.ToString());
        Assert.Contains("the sweep process must stay to propose them", d.Stderr);
        Assert.False(Directory.Exists(dir.File("runs")));
        var s = ExpRunnerProcess.Run(dir.Path, "sweep", dir.File("n.yaml"), "--set", "training.epochs=3,4");
        Assert.True(s.ExitCode == 2, s.ToString());
        Assert.Contains("this sweep is a search", s.Stderr);
    }
}

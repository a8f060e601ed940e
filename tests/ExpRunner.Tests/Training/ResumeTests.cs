using ExpRunner.Config;
using ExpRunner.IO;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Training;

/// <summary>A run interrupted and resumed from its checkpoint ends bit for bit where an uninterrupted one does.</summary>
public class ResumeTests
{
    private const string Config = """
        name: rs
        seed: 11
        precision: PRECISION
        dataset: { name: spirals, samples: 600, classes: 3, noise: 0.2, validation_split: 0.2 }
        model: { layers: [ { units: 16, activation: tanh }, { units: 16, activation: relu }, { units: 3, activation: softmax } ], init: { scheme: he_uniform } }
        loss: cross_entropy
        training:
          optimizer: OPTIMIZER
          learning_rate: 0.02
          lr_schedule: { kind: cosine, min_lr: 0.001, per: batch }
          warmup_epochs: 1
          batch_size: 32
          epochs: 12
          shuffle: true
          early_stopping: { metric: validation_loss, patience: 50 }
        """;

    private static LoadedConfig Load(string precision, string optimizer) =>
        ConfigLoader.Parse(Config.Replace("PRECISION", precision).Replace("OPTIMIZER", optimizer), "rs.yaml");

    /// <summary>What must not differ: every tensor of the saved weights, and every metric of every epoch (not its time).</summary>
    private static (List<double[]> Weights, List<string> Metrics) Outcome(RunFolder folder) =>
        (Safetensors.Read(folder.PathOf(RunFolder.WeightsFile)).Tensors.Select(t => Enumerable.Range(0, t.Length).Select(i => t[i]).ToArray()).ToList(),
         folder.ReadMetrics().Select(m => FormattableString.Invariant($"{m.Epoch} {m.Split} {m.Step} {m.Loss:R} {m.Accuracy:R} {m.LearningRate:R}")).ToList());

    [Theory]
    [InlineData("float32", "adam", 1)]
    [InlineData("float32", "adam", 6)]
    [InlineData("float32", "adam", 11)]
    [InlineData("float64", "sgd", 4)]
    [InlineData("float32", "rmsprop", 7)]
    public void An_interrupted_run_resumed_from_its_checkpoint_ends_bit_for_bit_like_an_uninterrupted_one(string precision, string optimizer, int stopAfter)
    {
        using var dir = new TempDir();
        var loaded = Load(precision, optimizer);
        var whole = ExpRunner.ExperimentRunner.Run(loaded, new RunOptions { RunsRoot = dir.File("whole") });
        Assert.Equal(RunStatus.Finished, whole.Status);
        Assert.False(File.Exists(whole.Folder.PathOf(RunFolder.CheckpointFile))); // a finished run needs none

        // Interrupted as Ctrl-C would: the cancellation arrives while epoch stopAfter + 1 starts.
        using var cancel = new CancellationTokenSource();
        var killed = ExpRunner.ExperimentRunner.Run(loaded, new RunOptions
        {
            RunsRoot = dir.File("cut"), Cancel = cancel.Token, OnEpoch = m => { if (m.Epoch == stopAfter) cancel.Cancel(); },
        });
        Assert.Equal(RunStatus.Killed, killed.Status);
        Assert.True(File.Exists(killed.Folder.PathOf(RunFolder.CheckpointFile)));

        var resumed = ExpRunner.ExperimentRunner.Resume(killed.Folder, new RunOptions { RunsRoot = dir.File("cut") });
        Assert.Equal(RunStatus.Finished, resumed.Status);
        var (wantWeights, wantMetrics) = Outcome(whole.Folder);
        var (gotWeights, gotMetrics) = Outcome(resumed.Folder);
        Assert.Equal(wantMetrics, gotMetrics);
        Assert.Equal(wantWeights.Count, gotWeights.Count);
        for (int i = 0; i < wantWeights.Count; i++) Assert.Equal(wantWeights[i], gotWeights[i]);
        var record = resumed.Folder.ReadRecord()!;
        var resumption = Assert.Single(record.Resumptions);
        Assert.Equal(stopAfter, resumption.FromEpoch);
        Assert.Equal(RunStatus.Finished, record.Status);
        Assert.Equal(whole.Summary.Final, resumed.Summary.Final);
        Assert.Equal(whole.Summary.BestEpoch, resumed.Summary.BestEpoch);
    }

    [Fact]
    public void Resume_continues_only_what_can_be_continued_and_says_why_not()
    {
        using var dir = new TempDir();
        string config = dir.Write("rs.yaml", Config.Replace("PRECISION", "float32").Replace("OPTIMIZER", "adam"));
        var done = InProcess.Run("run", config, "--runs", dir.File("runs"), "-q");
        Assert.True(done.ExitCode == 0, done.ToString());
        string id = Path.GetFileName(Directory.GetDirectories(dir.File("runs/rs")).Single());
        var finished = InProcess.Run("run", "--resume", id, "--runs", dir.File("runs"));
        Assert.Equal(2, finished.ExitCode);
        Assert.Contains("ended FINISHED: there is nothing to resume", finished.Stderr);
        var both = InProcess.Run("run", config, "--resume", id, "--runs", dir.File("runs"));
        Assert.Equal(2, both.ExitCode);
        Assert.Contains("give no config file or --set", both.Stderr);
        var none = InProcess.Run("run", "--runs", dir.File("runs"));
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("or --resume RUN", none.Stderr);

        // A run killed before its first epoch ended has no checkpoint.
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var early = ExpRunner.ExperimentRunner.Run(ConfigLoader.Load(config), new RunOptions { RunsRoot = dir.File("runs"), Cancel = cancel.Token });
        Assert.Equal(RunStatus.Killed, early.Status);
        var nothing = InProcess.Run("run", "--resume", early.Folder.Dir, "--runs", dir.File("runs"));
        Assert.Equal(2, nothing.ExitCode);
        Assert.Contains("has no checkpoint", nothing.Stderr);
    }
}

using System.Text.Json.Nodes;
using ExpRunner.Config;
using ExpRunner.IO;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Training;

/// <summary>
/// A resume never damages the run it continues: it claims the folder, checks all it relies on before
/// changing anything (refusals leave the folder byte for byte as it was), and a resume that fails
/// later puts the folder back as it was.
/// </summary>
public class ResumeSafetyTests
{
    private const string Config = """
        name: safe
        seed: 5
        dataset: { name: spirals, samples: 400, classes: 3, noise: 0.2 }
        model: { layers: [ { units: 12, activation: relu }, { units: 3, activation: softmax } ], init: { scheme: he_uniform } }
        loss: cross_entropy
        training: { optimizer: adam, learning_rate: 0.01, batch_size: 32, epochs: 8, shuffle: true }
        """;

    /// <summary>A run of <see cref="Config"/> interrupted after epoch 4, as Ctrl-C leaves it (KILLED, with a checkpoint).</summary>
    private static RunFolder Killed(TempDir dir, string config = Config)
    {
        using var cancel = new CancellationTokenSource();
        var run = ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(config, "safe.yaml"), new RunOptions
        {
            RunsRoot = dir.File("runs"), Cancel = cancel.Token, OnEpoch = m => { if (m.Epoch == 4) cancel.Cancel(); },
        });
        Assert.Equal(RunStatus.Killed, run.Status);
        return run.Folder;
    }

    /// <summary>Every file under the folder, by relative path, with its bytes.</summary>
    private static SortedDictionary<string, byte[]> Snapshot(RunFolder folder) => new(
        Directory.GetFiles(folder.Dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(folder.Dir, f), File.ReadAllBytes),
        StringComparer.Ordinal);

    private static void AssertUnchanged(SortedDictionary<string, byte[]> before, RunFolder folder)
    {
        var after = Snapshot(folder);
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (file, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[file]), $"{file} changed");
    }

    private static CliResult Resume(TempDir dir, RunFolder folder) => InProcess.Run("run", "--resume", folder.Dir, "--runs", dir.File("runs"), "-q");

    [Fact]
    public void A_checkpoint_whose_tensors_do_not_fit_the_network_is_refused_before_anything_changes()
    {
        using var dir = new TempDir();
        var folder = Killed(dir);
        // The first layer's weights replaced by a tensor of another shape, the metadata left as it was.
        var saved = Safetensors.Read(folder.PathOf(RunFolder.CheckpointFile));
        var tensors = saved.Tensors.Select(t => t.Name == "layers.0.weight" ? new Tensor(t.Name, [13, 2], F32: new float[26]) : t).ToList();
        Safetensors.Write(folder.PathOf(RunFolder.CheckpointFile), tensors, saved.Metadata);
        var before = Snapshot(folder);

        var r = Resume(dir, folder);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("layers.0.weight", r.Stderr);
        AssertUnchanged(before, folder);
    }

    [Theory]
    [InlineData("units: 12", "units: 16", "model.layers.0.units is 16, the weights were trained with 12")]
    [InlineData("activation: relu", "activation: tanh", "model.layers.0.activation is tanh, the weights were trained with relu")]
    public void A_config_edited_after_the_run_started_is_refused_and_the_folder_is_left_byte_for_byte(string from, string to, string why)
    {
        using var dir = new TempDir();
        var folder = Killed(dir);
        string yaml = folder.PathOf(RunFolder.ConfigFile);
        File.WriteAllText(yaml, File.ReadAllText(yaml).Replace(from, to));
        var before = Snapshot(folder);

        var edited = Resume(dir, folder);
        Assert.True(edited.ExitCode == 2, edited.ToString());
        Assert.Contains("was edited after the run started", edited.Stderr);
        AssertUnchanged(before, folder);

        // A run recorded before configs were hashed: the network the checkpoint carries still catches it.
        var record = JsonNode.Parse(File.ReadAllText(folder.PathOf(RunFolder.RecordFile)))!.AsObject();
        record.Remove("config_sha256");
        File.WriteAllText(folder.PathOf(RunFolder.RecordFile), record.ToJsonString());
        before = Snapshot(folder);
        var legacy = Resume(dir, folder);
        Assert.True(legacy.ExitCode == 2, legacy.ToString());
        Assert.Contains(why, legacy.Stderr);
        AssertUnchanged(before, folder);
    }

    [Fact]
    public void A_second_resume_of_a_claimed_run_is_refused_naming_the_holder()
    {
        using var dir = new TempDir();
        var folder = Killed(dir);
        var before = Snapshot(folder);
        using (RunLock.Claim(folder.Dir, folder.Id)) // as a resume in progress holds it
        {
            var second = Resume(dir, folder);
            Assert.True(second.ExitCode == 2, second.ToString());
            Assert.Contains($"run {folder.Id} is being trained by another exprunner (pid {Environment.ProcessId}", second.Stderr);
            AssertUnchanged(before, folder);
        }
        var alone = Resume(dir, folder);
        Assert.True(alone.ExitCode == 0, alone.ToString());
        Assert.Equal(8, folder.ReadMetrics().Count(m => m.Split == "train"));
    }

    [Fact]
    public void A_run_that_is_still_training_cannot_be_resumed_alongside()
    {
        using var dir = new TempDir();
        CliResult? during = null;
        var run = ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(Config, "safe.yaml"), new RunOptions
        {
            RunsRoot = dir.File("runs"),
            OnEpoch = m => { if (m.Epoch == 2) during = InProcess.Run("run", "--resume", Directory.GetDirectories(dir.File("runs/safe")).Single(), "-q"); },
        });
        Assert.Equal(RunStatus.Finished, run.Status);
        Assert.NotNull(during);
        Assert.True(during.ExitCode == 2, during.ToString());
        Assert.Contains("is being trained by another exprunner", during.Stderr);
        // One training wrote the folder: one row per epoch and split.
        Assert.Equal(8, run.Folder.ReadMetrics().Count(m => m.Split == "train"));
    }

    [Fact]
    public void A_resume_that_fails_part_way_leaves_the_folder_as_it_was_before_it_and_says_so()
    {
        using var dir = new TempDir();
        var folder = Killed(dir);
        var before = Snapshot(folder);
        var summaryBefore = folder.ReadSummary()!;

        // The resume fails after training two more epochs (as a disk error writing its metrics would).
        var failed = ExpRunner.ExperimentRunner.Resume(folder, new RunOptions
        {
            RunsRoot = dir.File("runs"), OnEpoch = m => { if (m.Epoch == 6) throw new IOException("cannot write metrics.csv: no space left on device"); },
        });
        Assert.Equal(RunStatus.Failed, failed.Status);
        foreach (var file in new[] { RunFolder.WeightsFile, RunFolder.MetricsFile, RunFolder.CheckpointFile, RunFolder.CurvesFile })
            Assert.True(before[file].AsSpan().SequenceEqual(File.ReadAllBytes(folder.PathOf(file))), $"{file} is not as it was before the resume");
        Assert.False(Directory.Exists(folder.PathOf(ResumeBackup.DirName)));
        var summary = folder.ReadSummary()!;
        Assert.Equal(RunStatus.Failed, summary.Status);
        Assert.Equal(summaryBefore.Final, summary.Final);
        Assert.Equal(summaryBefore.EpochsRun, summary.EpochsRun);
        var record = folder.ReadRecord()!;
        Assert.Equal(RunStatus.Failed, record.Status);
        Assert.Contains("no space left on device", record.Reason);
        Assert.Contains("the resume was undone: the folder holds the run as it was after epoch 4", record.Reason);

        // It can be resumed again, and then ends as an uninterrupted run does.
        var again = ExpRunner.ExperimentRunner.Resume(folder, new RunOptions { RunsRoot = dir.File("runs") });
        Assert.Equal(RunStatus.Finished, again.Status);
        var whole = ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(Config, "safe.yaml"), new RunOptions { RunsRoot = dir.File("whole") });
        Assert.Equal(whole.Summary.Final, again.Summary.Final);
        Assert.Equal(File.ReadAllBytes(whole.Folder.PathOf(RunFolder.WeightsFile)).Length, File.ReadAllBytes(folder.PathOf(RunFolder.WeightsFile)).Length);
    }
}

using System.Text.Json;
using ExpRunner.Config;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>`exprunner diff`: what differs between two runs and the first step and epoch where their training parts.</summary>
public class DiffTests
{
    private const string Config = """
        name: diffed
        seed: 4
        dataset: { name: spirals, samples: 300, classes: 3, noise: 0.2 }
        model: { layers: [ { units: 256, activation: relu }, { units: 256, activation: relu }, { units: 3, activation: softmax } ], init: { scheme: he_uniform } }
        loss: cross_entropy
        training: { optimizer: adam, learning_rate: 0.02, batch_size: 64, epochs: 4 }
        """;

    private static RunFolder Train(string runs, string yaml = Config, CancellationTokenSource? cancel = null, int stopAfter = 0) =>
        ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(yaml, "diffed.yaml"), new RunOptions
        {
            RunsRoot = runs, Cancel = cancel?.Token ?? TestContext.Current.CancellationToken, OnEpoch = m => { if (m.Epoch == stopAfter) cancel!.Cancel(); },
        }).Folder;

    private static JsonElement Diff(string runs, RunFolder a, RunFolder b)
    {
        var r = InProcess.Run("diff", a.Id, b.Id, "--runs", runs, "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        return JsonDocument.Parse(r.Stdout).RootElement;
    }

    [Fact]
    public void One_config_on_one_and_two_threads_is_identical_and_two_learning_rates_part_at_step_one()
    {
        using var dir = new TempDir();
        string runs = dir.File("runs");
        var one = Train(runs);
        var two = Train(runs, Config.Replace("epochs: 4 }", "epochs: 4, threads: 2 }"));
        var same = Diff(runs, one, two);
        Assert.True(same.GetProperty("identical").GetBoolean(), same.ToString());
        Assert.Equal(4 * 4, same.GetProperty("steps_compared").GetInt64()); // 240 training points in batches of 64
        Assert.Equal(4, same.GetProperty("epochs_compared").GetInt32());
        Assert.Contains(same.GetProperty("differences").EnumerateArray(), d => d.GetProperty("key").GetString() == "training.threads");
        var text = InProcess.Run("diff", one.Id, two.Id, "--runs", runs);
        Assert.Contains("identical: the same training", text.Stdout);

        var other = Train(runs, Config.Replace("learning_rate: 0.02", "learning_rate: 0.03"));
        var parted = Diff(runs, one, other);
        Assert.False(parted.GetProperty("identical").GetBoolean());
        Assert.Equal(1, parted.GetProperty("first_step").GetInt64());
        Assert.Equal("learning_rate", parted.GetProperty("at_first_step")[0].GetProperty("key").GetString());
        Assert.Equal(1, parted.GetProperty("first_weights").GetProperty("epoch").GetInt32());
        Assert.Equal(0, parted.GetProperty("first_weights").GetProperty("layer").GetInt32());
        Assert.Contains(parted.GetProperty("differences").EnumerateArray(), d => d.GetProperty("key").GetString() == "training.learning_rate"
            && d.GetProperty("a").GetString() == "0.02" && d.GetProperty("b").GetString() == "0.03");
        Assert.Contains("steps: first differ at step 1", InProcess.Run("diff", one.Id, other.Id, "--runs", runs).Stdout);

        // Another seed: other initial weights, so the very first loss differs.
        var seeded = Diff(runs, one, Train(runs, Config.Replace("seed: 4", "seed: 5")));
        Assert.Equal(1, seeded.GetProperty("first_step").GetInt64());
        Assert.Equal("loss", seeded.GetProperty("at_first_step")[0].GetProperty("key").GetString());
    }

    [Fact]
    public void A_resumed_run_is_identical_to_an_uninterrupted_one()
    {
        using var dir = new TempDir();
        var whole = Train(dir.File("whole"));
        using var cancel = new CancellationTokenSource();
        var cut = Train(dir.File("cut"), cancel: cancel, stopAfter: 2);
        Assert.Equal(2, WeightChecksums.Read(cut.PathOf(WeightChecksums.File)).Max(c => c.Epoch));
        var resumed = ExpRunner.ExperimentRunner.Resume(cut, new RunOptions { RunsRoot = dir.File("cut") });
        Assert.Equal(RunStatus.Finished, resumed.Status);
        Assert.Equal(File.ReadAllText(whole.PathOf(WeightChecksums.File)), File.ReadAllText(cut.PathOf(WeightChecksums.File)));
        var d = RunDiff.Of(whole, cut);
        Assert.True(d.Identical, string.Join("; ", d.Missing));
    }

    [Fact]
    public void Diff_refuses_one_run_twice_and_says_what_it_could_not_compare()
    {
        using var dir = new TempDir();
        string runs = dir.File("runs");
        var a = Train(runs);
        var self = InProcess.Run("diff", a.Id, a.Dir, "--runs", runs);
        Assert.True(self.ExitCode == 2, self.ToString());
        Assert.Contains("are the same run", self.Stderr);
        var b = Train(runs);
        File.Delete(b.PathOf(WeightChecksums.File));
        var r = InProcess.Run("diff", a.Id, b.Id, "--runs", runs);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("not compared:", r.Stdout);
        Assert.Contains("has no weight checksums", r.Stdout);
        Assert.Contains("not shown to be identical", r.Stdout);
        var none = InProcess.Run("diff", a.Id, "no-such-run", "--runs", runs);
        Assert.True(none.ExitCode == 2, none.ToString());
    }
}

using System.Text.Json;
using ExpRunner.Config;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Cli;

/// <summary>`show --dynamics`: the probes per layer at chosen steps, within 80 columns, and clear refusals.</summary>
public class DynamicsViewTests
{
    private const string Probed = """
        name: dyn
        seed: 2
        dataset: { name: xor, samples: 200 }
        model: { layers: [ { units: 6, activation: relu }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 20, epochs: 12 }
        probes: { every_steps: 2 }
        """;

    private static RunFolder Train(TempDir dir, string yaml) =>
        ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(yaml, "dyn.yaml"), new RunOptions { RunsRoot = dir.File("runs"), Cancel = TestContext.Current.CancellationToken }).Folder;

    [Fact]
    public void Show_dynamics_lists_each_layers_probes_at_the_steps_asked_for_within_80_columns()
    {
        using var dir = new TempDir();
        var run = Train(dir, Probed);
        var r = InProcess.Run(new InProcess.Terminal(Width: 80), null, "show", run.Id, "--runs", dir.File("runs"), "--dynamics");
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.Stdout.Split('\n');
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        Assert.Contains(lines, l => l.Contains("layer 0 · 6 relu"));
        Assert.Contains(lines, l => l.Contains("layer 1 · 1 sigmoid"));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("dead", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("saturated", StringComparison.Ordinal));
        Assert.Contains("step 2", r.Stdout);   // the first probed step
        Assert.Contains("step 96", r.Stdout);  // the last (12 epochs of 8 steps: 160 training points, batches of 20)

        // --at: steps and epoch ends; the JSON has the values the record holds there.
        var json = InProcess.Run("show", run.Id, "--runs", dir.File("runs"), "--dynamics", "--at", "4,e3", "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        var doc = JsonDocument.Parse(json.Stdout).RootElement;
        Assert.Equal([4L, 24L], doc.GetProperty("steps").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([1, 3], doc.GetProperty("epochs").EnumerateArray().Select(e => e.GetInt32()));
        var record = StepLog.ReadRecord(run.PathOf(StepLog.File));
        int column = record.ProbeColumns.ToList().IndexOf("layer0.weight.update_ratio");
        double expected = record.Steps.Single(s => s.Step == 24).Probes![column];
        Assert.Equal(expected, doc.GetProperty("layers")[0].GetProperty("weight.update_ratio")[1].GetDouble());
    }

    [Fact]
    public void Show_dynamics_refuses_what_it_cannot_show_and_says_why()
    {
        using var dir = new TempDir();
        var plain = Train(dir, Probed.Replace("probes: { every_steps: 2 }", ""));
        var none = InProcess.Run("show", plain.Id, "--runs", dir.File("runs"), "--dynamics");
        Assert.True(none.ExitCode == 2, none.ToString());
        Assert.Contains("has no probes", none.Stderr);
        Assert.Contains("probes: {}", none.Stderr);
        var probed = Train(dir, Probed);
        foreach (var (at, message) in new[] { ("e13", "no epoch 13"), ("x", "a step number"), ("1", "no step was probed by step 1"), ("0", "a step number") })
        {
            var r = InProcess.Run("show", probed.Id, "--runs", dir.File("runs"), "--dynamics", "--at", at);
            Assert.True(r.ExitCode == 2, r.ToString());
            Assert.Contains(message, r.Stderr);
        }
        var alone = InProcess.Run("show", probed.Id, "--runs", dir.File("runs"), "--at", "3");
        Assert.True(alone.ExitCode == 2, alone.ToString());
        Assert.Contains("--at goes with --dynamics", alone.Stderr);
    }

    [Fact]
    public void Compare_plots_every_step_of_runs_and_groups_with_the_probes_asked_for()
    {
        using var dir = new TempDir();
        foreach (var (lr, seed) in new[] { ("0.5", 1), ("0.5", 2), ("0.05", 1) })
            Train(dir, Probed.Replace("learning_rate: 0.5", "learning_rate: " + lr).Replace("seed: 2", "seed: " + seed));
        string plot = dir.File("steps.svg");
        var r = InProcess.Run("compare", "--runs", dir.File("runs"), "--group-by", "training.learning_rate", "--plot", plot, "--steps", "--probe", "layer0.dead");
        Assert.True(r.ExitCode == 0, r.ToString());
        string svg = File.ReadAllText(plot);
        Assert.Contains("data-title=\"Loss per step\"", svg);
        Assert.Contains("data-title=\"layer0.dead\"", svg);
        Assert.Contains("data-series=\"2\"", svg); // two groups
        Assert.Contains("<polygon", svg);          // the group of two seeds has its band

        var typo = InProcess.Run("compare", "--runs", dir.File("runs"), "--plot", plot, "--steps", "--probe", "layer0.daed");
        Assert.True(typo.ExitCode == 2, typo.ToString());
        Assert.Contains("did you mean 'layer0.dead'", typo.Stderr);
        var alone = InProcess.Run("compare", "--runs", dir.File("runs"), "--steps");
        Assert.True(alone.ExitCode == 2, alone.ToString());
        Assert.Contains("--steps goes with --plot", alone.Stderr);
    }
}

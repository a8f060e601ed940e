using System.Globalization;
using System.Text.Json;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Training;

/// <summary>Early stopping and schedules through the tool: what the run folder says and holds.</summary>
public class EarlyStoppingTests
{
    /// <summary>An xor run that stops early (at an epoch between 5 and 399).</summary>
    internal const string Xor = """
        name: es
        seed: 4
        dataset: { name: xor, samples: 400, noise: 0.1, validation_split: 0.25 }
        model: { layers: [ { units: 8, activation: tanh }, { units: 1, activation: sigmoid } ] }
        loss: bce
        training:
          optimizer: adam
          learning_rate: 0.05
          batch_size: 20
          epochs: 400
          early_stopping: { metric: validation_loss, patience: 4, min_delta: 0.002 }
        """;

    [Fact]
    public void A_run_stops_when_validation_loss_stalls_and_keeps_the_best_epochs_weights()
    {
        using var dir = new TempDir();
        var r = InProcess.Run("run", dir.Write("es.yaml", Xor), "--runs", dir.File("runs"), "-q");
        Assert.True(r.ExitCode == 0, r.ToString());
        var folder = RunFolder.Open(Directory.GetDirectories(dir.File("runs/es")).Single());
        var record = folder.ReadRecord()!;
        var summary = folder.ReadSummary()!;
        Assert.Equal(RunStatus.Finished, record.Status);
        var rows = folder.ReadMetrics();
        int last = rows.Max(m => m.Epoch);
        Assert.InRange(last, 5, 399); // it stopped early
        int best = summary.WeightsEpoch!.Value;
        Assert.Equal(last - 4, best);
        Assert.StartsWith($"early stop at epoch {last} (best {best}: validation_loss ", record.Reason);
        // The kept epoch had the lowest validation loss, and improved on every earlier one by more than min_delta... or was the first.
        var validation = rows.Where(m => m.Split == "validation").ToDictionary(m => m.Epoch, m => m.Loss);
        Assert.All(validation.Where(v => v.Key > best), v => Assert.True(v.Value > validation[best] - 0.002));
        Assert.Equal(validation[best], summary.Final["validation_loss"]);
        Assert.Equal(best, summary.BestEpoch);
        Assert.Equal("validation_loss", summary.BestBy);
        // model.safetensors holds the best epoch's weights: evaluated again, they give its validation loss.
        var eval = InProcess.Run("eval", folder.Dir, "--split", "validation", "--json");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        double loss = JsonDocument.Parse(eval.Stdout).RootElement.GetProperty("loss").GetDouble();
        Assert.Equal(validation[best], loss, 6);
        Assert.NotEqual(validation[last], loss, 6);
    }

    [Fact]
    public void Without_restore_best_the_last_epochs_weights_are_kept()
    {
        using var dir = new TempDir();
        var r = InProcess.Run("run", dir.Write("es.yaml", Xor.Replace("min_delta: 0.002 }", "min_delta: 0.002, restore_best: false }")), "--runs", dir.File("runs"), "-q");
        Assert.True(r.ExitCode == 0, r.ToString());
        var folder = RunFolder.Open(Directory.GetDirectories(dir.File("runs/es")).Single());
        var summary = folder.ReadSummary()!;
        Assert.Equal(summary.EpochsRun, summary.WeightsEpoch);
        Assert.Equal(folder.ReadMetrics().Last(m => m.Split == "validation").Loss, summary.Final["validation_loss"]);
    }

    [Fact]
    public void The_learning_rate_column_records_the_rate_each_epoch_used()
    {
        using var dir = new TempDir();
        string yaml = Xor.Replace("          early_stopping: { metric: validation_loss, patience: 4, min_delta: 0.002 }\n", "")
            .Replace("epochs: 400", "epochs: 9\n  lr_schedule: { kind: step, step_epochs: 3, gamma: 0.5 }\n  warmup_epochs: 2");
        var r = InProcess.Run("run", dir.Write("es.yaml", yaml), "--runs", dir.File("runs"), "-q");
        Assert.True(r.ExitCode == 0, r.ToString());
        var folder = RunFolder.Open(Directory.GetDirectories(dir.File("runs/es")).Single());
        var lrs = folder.ReadMetrics().Where(m => m.Split == "train").Select(m => m.LearningRate).ToArray();
        // warm-up 0.025, 0.05; then 3 epochs at 0.05, 3 at 0.025, 1 at 0.0125
        Assert.Equal([0.025, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125], lrs);
        Assert.Contains("Adam lr 0.05, ×0.5 every 3 epochs, warm-up 2 epochs (per epoch)", File.ReadAllText(folder.PathOf(RunFolder.LogFile)));
    }
}

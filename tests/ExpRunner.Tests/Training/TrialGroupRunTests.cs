using System.IO.Compression;
using System.Text.Json;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Tracking;
using ExpRunner.Training;
using ExpRunner.Tests.Support;

namespace ExpRunner.Tests.Training;

/// <summary>
/// Whole runs trained in a group leave the run folders they would leave alone: metrics, weights
/// (initial, final, every epoch's checksums), every step, summary and status — for every optimizer
/// and both reductions, early stopping, a divergence; and a group stopped mid-training resumes, each
/// trial from its own checkpoint, to the folder of a run never stopped.
/// </summary>
public class TrialGroupRunTests
{
    // 70 features: the first layer's product runs on the dot-product kernel the wide product shares.
    internal const string Yaml = """
        name: grouped
        seed: 3
        dataset: { name: gaussian_quantiles, samples: 500, features: 70, classes: 3, validation_split: 0.2 }
        model:
          layers:
            - { units: 8, activation: tanh }
            - { units: 3, activation: softmax }
          init: { scheme: xavier_uniform }
        loss: cross_entropy
        training: { learning_rate: 0.05, batch_size: 32, epochs: 4 }
        """;

    private static string Layers(int units, string activation = "tanh") =>
        $"model.layers=[{{units: {units}, activation: {activation}}}, {{units: 3, activation: softmax}}]";

    private static readonly string[][] Trials =
    [
        ["training.optimizer={name: sgd, momentum: 0.9, nesterov: true}", "training.gradient_reduction=mean"],
        ["training.optimizer={name: sgd, momentum: 0.9, nesterov: true}", "training.gradient_reduction=sum", "training.learning_rate=0.002"],
        ["training.optimizer=adam", "training.gradient_reduction=mean", Layers(6)],
        ["training.optimizer=adam", "training.gradient_reduction=sum"],
        ["training.optimizer=adamw", "training.gradient_reduction=mean"],
        ["training.optimizer=adamw", "training.gradient_reduction=sum", Layers(12)],
        ["training.optimizer=rmsprop", "training.gradient_reduction=mean", "training.learning_rate=0.01"],
        ["training.optimizer=rmsprop", "training.gradient_reduction=sum", "training.learning_rate=0.001", Layers(5)],
        ["training.optimizer=adagrad", "training.gradient_reduction=mean"],
        ["training.optimizer=adagrad", "training.gradient_reduction=sum", "training.early_stopping={patience: 1, min_delta: 0.5}"],
        ["training.gradient_reduction=sum", "training.learning_rate=1e30", Layers(8, "linear")], // diverges
        ["training.lr_schedule={kind: step, step_epochs: 1, gamma: 0.5}", "training.epochs=2"],
    ];

    [Fact]
    public void Runs_trained_in_a_group_leave_the_folders_they_leave_alone()
    {
        using var dir = new TempDir();
        string file = dir.Write("grouped.yaml", Yaml);
        var configs = Trials.Select(o => ConfigLoader.Load(file, o)).ToArray();
        var alone = configs.Select(c => ExperimentRunner.Run(c, Options(dir.File("alone")))).ToArray();
        var together = Group(configs, dir.File("together"), _ => Options(dir.File("together")));

        Assert.Contains(alone, r => r.Status == RunStatus.Diverged);
        Assert.Contains(alone, r => r.Summary.EpochsRun < 4 && r.Status == RunStatus.Finished); // stopped early
        for (int i = 0; i < Trials.Length; i++) Same(alone[i].Folder, together[i].Folder, $"trial {i} ({string.Join(" ", Trials[i])})");
    }

    [Fact]
    public void A_group_stopped_mid_training_resumes_each_trial_to_the_folder_of_a_run_never_stopped()
    {
        using var dir = new TempDir();
        string file = dir.Write("grouped.yaml", Yaml.Replace("epochs: 4", "epochs: 5"));
        var configs = Trials.Take(6).Select(o => ConfigLoader.Load(file, o)).ToArray();
        var alone = configs.Select(c => ExperimentRunner.Run(c, Options(dir.File("alone")))).ToArray();

        // Stopped (as by Ctrl-C) when the first trial ends its second epoch: every trial stops at its next batch.
        using var stop = new CancellationTokenSource();
        var stopped = Group(configs, dir.File("together"), i => Options(dir.File("together")) with
        {
            Cancel = stop.Token,
            OnEpoch = m => { if (i == 0 && m.Epoch == 2) stop.Cancel(); },
        });
        Assert.All(stopped, r =>
        {
            Assert.Equal(RunStatus.Killed, r.Status);
            Assert.True(File.Exists(r.Folder.PathOf(RunFolder.CheckpointFile)), "a stopped trial keeps its checkpoint");
        });
        var resumed = stopped.Select(r => ExperimentRunner.Resume(r.Folder, Options(dir.File("together")))).ToArray();
        for (int i = 0; i < configs.Length; i++)
        {
            Assert.Equal(RunStatus.Finished, resumed[i].Status);
            Same(alone[i].Folder, resumed[i].Folder, $"trial {i}");
        }
    }

    private static RunOptions Options(string runs) => new() { RunsRoot = runs, Cancel = TestContext.Current.CancellationToken };

    /// <summary>The configs' runs trained as one group, each on its own thread (as `run --sweep ID:N,M,…` does).</summary>
    private static RunResult[] Group(LoadedConfig[] configs, string runs, Func<int, RunOptions> options)
    {
        var first = configs[0].Config;
        var data = DatasetLoader.Load(first.Dataset, first.Seed);
        var seats = TrialGroups.New(first.Precision, configs.Length, data, first.Training.BatchSize, 3, threads: 2, vectorBits: 0);
        var results = new RunResult[configs.Length];
        var threads = configs.Select((c, i) => new Thread(() =>
        {
            try { results[i] = ExperimentRunner.Run(c, options(i) with { Data = data, Seat = seats[i] }); }
            finally { seats[i].Leave(); }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(TimeSpan.FromMinutes(2)), "a trial of the group never ended");
        return results;
    }

    /// <summary>Two run folders hold the same run: everything but times, ids and paths, byte for byte.</summary>
    internal static void Same(RunFolder a, RunFolder b, string what)
    {
        foreach (var f in new[] { RunFolder.MetricsFile, WeightChecksums.File, StepLog.File })
            Assert.True(Table(a.PathOf(f)) == Table(b.PathOf(f)), $"{what}: {f} differs");
        foreach (var f in new[] { RunFolder.InitWeightsFile, RunFolder.WeightsFile, RunFolder.CheckpointFile })
        {
            Assert.Equal(File.Exists(a.PathOf(f)), File.Exists(b.PathOf(f)));
            if (File.Exists(a.PathOf(f))) Assert.True(Tensors(a.PathOf(f)).SequenceEqual(Tensors(b.PathOf(f))), $"{what}: {f} differs");
        }
        var (sa, sb) = (a.ReadSummary()!, b.ReadSummary()!);
        Assert.Equal((sa.Status, sa.EpochsRun, sa.Steps, sa.WeightsEpoch, sa.BestEpoch), (sb.Status, sb.EpochsRun, sb.Steps, sb.WeightsEpoch, sb.BestEpoch));
        Assert.Equal(sa.Final, sb.Final);
        Assert.Equal(a.ReadRecord()!.Reason, b.ReadRecord()!.Reason);
    }

    /// <summary>A CSV file (gzipped or not) without its time columns.</summary>
    private static string? Table(string path)
    {
        if (!File.Exists(path)) return null;
        using var stream = File.OpenRead(path);
        using var reader = new StreamReader(path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(stream, CompressionMode.Decompress) : stream);
        var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = lines[0].Split(',');
        var keep = Enumerable.Range(0, header.Length).Where(i => header[i] is not ("seconds" or "timestamp")).ToArray();
        return string.Join("\n", lines.Select(l => { var cells = l.Split(','); return string.Join(",", keep.Where(i => i < cells.Length).Select(i => cells[i])); }));
    }

    /// <summary>A safetensors file's tensors: its header without the metadata (which names the run), then the data.</summary>
    private static byte[] Tensors(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int n = (int)BitConverter.ToUInt64(bytes, 0);
        var header = JsonDocument.Parse(bytes.AsMemory(8, n));
        var tensors = string.Join(";", header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").Select(p => p.Name + p.Value.GetRawText()));
        return [.. System.Text.Encoding.UTF8.GetBytes(tensors), .. bytes.AsSpan(8 + n)];
    }
}

using System.Diagnostics;
using System.IO.Compression;
using ExpRunner.Config;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;

namespace ExpRunner.Tests.Tracking;

/// <summary>Every training step is recorded in steps.csv.gz: consistent with the epoch's metrics, exact across a resume, small, and read by pandas.</summary>
public class StepLogTests
{
    private const string Config = """
        name: st
        seed: 4
        dataset: { name: spirals, samples: 500, classes: 3, noise: 0.2 }
        model: { layers: [ { units: 12, activation: tanh }, { units: 3, activation: softmax } ], init: { scheme: he_uniform } }
        loss: cross_entropy
        training:
          optimizer: adam
          learning_rate: 0.02
          lr_schedule: { kind: cosine, min_lr: 0.001, per: batch }
          batch_size: 32
          epochs: 6
          shuffle: true
        """;

    private static RunResult Run(string yaml, string runs, Action<int>? afterEpoch = null, CancellationTokenSource? cancel = null) =>
        ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(yaml, "st.yaml"), new RunOptions
        {
            RunsRoot = runs, OnEpoch = m => afterEpoch?.Invoke(m.Epoch), Cancel = cancel?.Token ?? TestContext.Current.CancellationToken,
        });

    private static string Text(string path)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        return reader.ReadToEnd();
    }

    /// <summary>
    /// A live view reads the record while the run appends a member to it: read as live, the whole lines are shown and
    /// the rest is not (the UI had shown an error for 2 s in such a moment); read as a finished run's, a record that stops
    /// inside a line is an error that says so.
    /// </summary>
    [Fact]
    public void A_member_being_appended_is_left_out_of_a_live_read_and_is_an_error_in_a_finished_runs()
    {
        using var dir = new TempDir();
        string path = dir.File(StepLog.File);
        var log = new StepLog(path, every: 1, probes: ["layer0.weight.norm"]);
        for (int step = 1; step <= 200; step++)
        {
            log.Step(new ExpRunner.Training.StepMetrics(step, 1, step, 0, 1.0 / step, 0.5, 0.01) { Probes = [step * 0.25] });
            if (step % 50 == 0) log.Flush(force: true); // four members: the header and steps 1–50, then 51–100, …
        }
        byte[] whole = File.ReadAllBytes(path);
        var all = StepLog.ReadRecord(path, live: true);
        Assert.Equal(200, all.Steps.Count);

        // The next member, 50 steps, caught at lengths short of whole (as a reader between the writer's bytes would).
        for (int step = 201; step <= 250; step++) log.Step(new ExpRunner.Training.StepMetrics(step, 2, step, 0, 1.0 / step, 0.5, 0.01) { Probes = [step * 0.25] });
        log.Flush(force: true);
        byte[] member = File.ReadAllBytes(path)[whole.Length..];
        Assert.Equal(250, StepLog.ReadRecord(path).Steps.Count);
        int strictErrors = 0;
        for (int cut = 1; cut < member.Length; cut += Math.Max(1, member.Length / 40))
        {
            File.WriteAllBytes(path, [.. whole, .. member.AsSpan(0, cut)]);
            var live = StepLog.ReadRecord(path, live: true);
            Assert.Equal(all.Steps.Select(x => x.Step), live.Steps.Take(200).Select(x => x.Step));
            Assert.All(live.Steps, x => Assert.Equal(x.Step * 0.25, x.Probes![0])); // no line cut short and read as whole
            // Read as a finished run's: an error where the text stops inside a line (gzip itself may stop quietly at a cut
            // member); never a line cut short taken as whole.
            try { Assert.Equal(live.Steps.Select(x => (x.Step, x.Probes![0])), StepLog.ReadRecord(path).Steps.Select(x => (x.Step, x.Probes![0]))); }
            catch (InvalidDataException e) { strictErrors++; Assert.Contains("cut short", e.Message + (e.InnerException?.Message ?? ""), StringComparison.Ordinal); }
        }
        Assert.True(strictErrors > 0, "a cut record is an error when read as a finished run's");
    }

    [Fact]
    public void Every_step_is_recorded_and_adds_up_to_the_epochs_metrics()
    {
        using var dir = new TempDir();
        var run = Run(Config, dir.File("runs"));
        Assert.Equal(RunStatus.Finished, run.Status);
        var steps = StepLog.Read(run.Folder.PathOf(StepLog.File));
        int perEpoch = (int)Math.Ceiling(400 / 32.0); // 500 points, 20 % held out for test
        Assert.Equal(6 * perEpoch, steps.Count);
        Assert.Equal(Enumerable.Range(1, steps.Count).Select(i => (long)i), steps.Select(s => s.Step));
        var metrics = run.Folder.ReadMetrics().Where(m => m.Split == "train").ToList();
        foreach (var epoch in steps.GroupBy(s => s.Epoch))
        {
            var rows = epoch.Select(s => s.Batch == perEpoch ? 400 - 32 * (perEpoch - 1) : 32).ToList();
            var m = metrics.Single(r => r.Epoch == epoch.Key);
            // The epoch's train loss and accuracy are the means over its examples of what each step measured.
            double loss = epoch.Zip(rows, (s, n) => s.Loss * n).Sum() / 400;
            Assert.True(Math.Abs(loss - m.Loss) <= 1e-12 * Math.Abs(m.Loss), $"epoch {epoch.Key}: {loss} vs {m.Loss}");
            Assert.Equal(Math.Round(m.Accuracy * 400), Math.Round(epoch.Zip(rows, (s, n) => s.Accuracy * n).Sum()));
            Assert.Equal(m.LearningRate, epoch.Last().LearningRate); // metrics.csv's rate: the epoch's last step's
        }
        Assert.True(steps.Select(s => s.LearningRate).Distinct().Count() > 6 * perEpoch / 2); // a per-batch schedule moves every step
    }

    [Fact]
    public void Pandas_reads_the_record_in_one_line()
    {
        using var dir = new TempDir();
        var run = Run(Config, dir.File("runs"));
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", "import pandas, sys; df = pandas.read_csv(sys.argv[1]); print(len(df), list(df.columns), df.step.iloc[-1])",
            run.Folder.PathOf(StepLog.File) }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"python3-pandas (make test installs it): {error}");
        Assert.Equal("78 ['step', 'epoch', 'batch', 'loss', 'accuracy', 'learning_rate'] 78\n", output);
    }

    [Fact]
    public void A_resumed_run_records_exactly_the_steps_of_an_uninterrupted_one()
    {
        using var dir = new TempDir();
        var whole = Run(Config, dir.File("whole"));
        using var cancel = new CancellationTokenSource();
        var cut = Run(Config, dir.File("cut"), e => { if (e == 3) cancel.Cancel(); }, cancel);
        Assert.Equal(RunStatus.Killed, cut.Status);
        Assert.Equal(3, StepLog.Read(cut.Folder.PathOf(StepLog.File)).Max(s => s.Epoch));
        var resumed = ExpRunner.ExperimentRunner.Resume(cut.Folder, new RunOptions { RunsRoot = dir.File("cut") });
        Assert.Equal(RunStatus.Finished, resumed.Status);
        Assert.Equal(Text(whole.Folder.PathOf(StepLog.File)), Text(cut.Folder.PathOf(StepLog.File)));

        // Killed before any step reached the file (kill -9 leaves what was held in memory unwritten):
        // the checkpoint holds those steps, and the resumed record is still exact.
        using var again = new CancellationTokenSource();
        var crashed = Run(Config, dir.File("crashed"), e => { if (e == 2) again.Cancel(); }, again);
        File.Delete(crashed.Folder.PathOf(StepLog.File));
        var recovered = ExpRunner.ExperimentRunner.Resume(crashed.Folder, new RunOptions { RunsRoot = dir.File("crashed") });
        Assert.Equal(RunStatus.Finished, recovered.Status);
        Assert.Equal(Text(whole.Folder.PathOf(StepLog.File)), Text(crashed.Folder.PathOf(StepLog.File)));
    }

    [Fact]
    public void A_cadence_keeps_every_nth_step_and_a_long_run_stays_small()
    {
        using var dir = new TempDir();
        var sparse = Run(Config + "\ntracking: { every_steps: 10 }\n", dir.File("sparse"));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => 10L * i), StepLog.Read(sparse.Folder.PathOf(StepLog.File)).Select(s => s.Step));
        Assert.Contains("every_steps: 10", File.ReadAllText(sparse.Folder.PathOf(RunFolder.ConfigFile))); // resumes with the same cadence

        // 50,000 steps (xor, batches of 2) cost well under a megabyte.
        var longRun = Run("""
            name: long
            dataset: { name: xor, samples: 1250 }
            model: { layers: [ { units: 4, activation: tanh }, { units: 1, activation: sigmoid } ] }
            loss: bce
            training: { learning_rate: 0.05, batch_size: 2, epochs: 100 }
            """, dir.File("long"));
        var steps = StepLog.Read(longRun.Folder.PathOf(StepLog.File));
        Assert.Equal(50_000, steps.Count);
        long bytes = new FileInfo(longRun.Folder.PathOf(StepLog.File)).Length;
        Assert.True(bytes < 1_000_000, $"{bytes:N0} bytes for 50,000 steps");
    }

    [Fact]
    public void The_step_that_diverges_is_recorded()
    {
        using var dir = new TempDir();
        // A linear output under mse at a rate far too high: the loss grows until it is no number.
        var run = Run("""
            name: boom
            dataset: { name: xor, samples: 200 }
            model: { layers: [ { units: 6, activation: tanh }, { units: 1, activation: linear } ] }
            loss: mse
            training: { learning_rate: 50, batch_size: 16, epochs: 50 }
            """, dir.File("runs"));
        Assert.Equal(RunStatus.Diverged, run.Status);
        var last = StepLog.Read(run.Folder.PathOf(StepLog.File))[^1];
        Assert.False(double.IsFinite(last.Loss));
    }
    [Fact]
    public void An_early_stopped_run_records_every_step_up_to_its_stop_and_none_after()
    {
        using var dir = new TempDir();
        var run = Run(ExpRunner.Tests.Training.EarlyStoppingTests.Xor, dir.File("runs"));
        Assert.Equal(RunStatus.Finished, run.Status);
        int last = run.Folder.ReadMetrics().Max(m => m.Epoch);
        Assert.InRange(last, 5, 399); // it stopped early
        var steps = StepLog.Read(run.Folder.PathOf(StepLog.File));
        var epochs = steps.GroupBy(s => s.Epoch).ToList();
        Assert.Equal(Enumerable.Range(1, last), epochs.Select(e => e.Key));
        int perEpoch = epochs[0].Count();
        Assert.All(epochs, e => Assert.Equal(Enumerable.Range(1, perEpoch), e.Select(s => s.Batch)));
        Assert.Equal(Enumerable.Range(1, last * perEpoch).Select(i => (long)i), steps.Select(s => s.Step));
    }
}

using System.IO.Compression;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;
using ExpRunner.Tests.Support;
using ExpRunner.Tracking;
using ExpRunner.Training;

namespace ExpRunner.Tests.Training;

/// <summary>
/// The probes of `probes:`: every value written to steps.csv.gz agrees to 1e-12 with a computation of
/// its own from the weights and gradients saved at every step (float64), across optimizers and both
/// reductions; they survive a resume exactly; and they show the headline: at the same learning rate a
/// summed step is B times an averaged one.
/// </summary>
public class ProbesTests
{
    private static ExperimentConfig Parse(string optimizer, string reduction, string hidden, int batch = 16, string extra = "") => ConfigLoader.Parse($$"""
        name: probed
        precision: float64
        dataset: { name: xor, samples: 120 }
        model:
          layers: [ { units: 7, activation: {{hidden}} }, { units: 5, activation: tanh }, { units: 1, activation: sigmoid } ]
          init: { scheme: uniform, low: -1, high: 1 }
          {{extra}}
        loss: bce
        training: { optimizer: {{optimizer}}, learning_rate: 0.3, batch_size: {{batch}}, epochs: 3, gradient_reduction: {{reduction}}, shuffle: false }
        probes: { histograms: true, bins: 5 }
        """, "probed.yaml").Config!;

    /// <summary>A test double of the run's recorder: copies of every layer's weights and gradients after each step, and the record itself written to a file.</summary>
    private sealed class Snapshots(StepLog log) : IStepObserver
    {
        public readonly List<(StepMetrics Step, double[][] W, double[][] B, double[][] DW, double[][] DB)> Steps = [];
        public Network<double> Net = null!;
        public readonly List<(int Epoch, IReadOnlyList<Histogram> H)> Histograms = [];

        public void Step(in StepMetrics step)
        {
            log.Step(step);
            Steps.Add((step, [.. Net.Layers.Select(l => (double[])l.W.Clone())], [.. Net.Layers.Select(l => (double[])l.B.Clone())],
                [.. Net.Layers.Select(l => (double[])l.DW.Clone())], [.. Net.Layers.Select(l => (double[])l.DB.Clone())]));
        }

        void IStepObserver.Histograms(int epoch, long step, IReadOnlyList<Histogram> histograms)
        {
            log.Histograms(epoch, step, histograms);
            Histograms.Add((epoch, histograms));
        }
    }

    private static (Snapshots Seen, StepRecord Written, double[][] W0, double[][] B0, Dataset Data) Train(ExperimentConfig c, string dir)
    {
        var data = Synthetic.Generate("xor", 120, 2, 2, 1, 0.05, 0.5, new Rng(3));
        var split = DataSplit.All("train", data);
        var splits = new DataSplits(split, null, split, new DatasetFingerprint("xor", "generated", 120, 0, 120, new Dictionary<string, string>()));
        var net = ModelBuilder.Build<double>(c.Model, 2, c.Training.BatchSize, seed: 5);
        double[][] w0 = [.. net.Layers.Select(l => (double[])l.W.Clone())], b0 = [.. net.Layers.Select(l => (double[])l.B.Clone())];
        var log = new StepLog(Path.Combine(dir, StepLog.File), 1, ProbeLayout.Of(c));
        var seen = new Snapshots(log) { Net = net };
        var optimizer = Optimizer<double>.Create(c.Training, net);
        var trainer = new Trainer<double>(net, Loss<double>.Create("bce"), optimizer, c.Training, new Rng(9));
        var outcome = trainer.Train(splits, _ => { }, null, TestContext.Current.CancellationToken, steps: seen, probes: new Probes<double>(net, optimizer, c.Probes!));
        Assert.Equal(TrainingEnd.Finished, outcome.End);
        log.Flush(force: true);
        return (seen, StepLog.ReadRecord(Path.Combine(dir, StepLog.File)), w0, b0, data);
    }

    private static double Norm(IEnumerable<double> x) => Math.Sqrt(x.Sum(v => v * v));

    [Theory]
    [InlineData("sgd", "mean", "relu")]
    [InlineData("sgd", "sum", "tanh")]
    [InlineData("{ name: sgd, momentum: 0.9, weight_decay: 0.01 }", "mean", "relu")]
    [InlineData("adam", "sum", "sigmoid")]
    [InlineData("{ name: adamw, weight_decay: 0.1 }", "mean", "tanh")]
    public void Every_probe_agrees_with_a_computation_of_its_own_to_1e_12(string optimizer, string reduction, string hidden)
    {
        using var dir = new TempDir();
        var c = Parse(optimizer, reduction, hidden);
        var (seen, written, w0, b0, data) = Train(c, dir.Path);
        var columns = written.ProbeColumns.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i);
        Assert.Equal(ProbeLayout.Of(c), written.ProbeColumns);
        Assert.Equal(seen.Steps.Count, written.Steps.Count);
        int batch = c.Training.BatchSize, layers = c.Model.Layers.Count, checkedValues = 0;
        string[] kinds = [hidden, "tanh", "sigmoid"];
        double deadOrSaturated = 0;
        for (int s = 0; s < seen.Steps.Count; s++)
        {
            var (step, w, b, dw, db) = seen.Steps[s];
            var row = written.Steps[s];
            Assert.Equal(step.Step, row.Step);
            var values = row.Probes!;
            double[][] wBefore = s == 0 ? w0 : seen.Steps[s - 1].W, bBefore = s == 0 ? b0 : seen.Steps[s - 1].B;
            int rows = Math.Min(batch, 120 - (step.Batch - 1) * batch);
            double scale = reduction == "mean" ? 1.0 / rows : 1.0;
            void Expect(string name, double expected)
            {
                double got = values[columns[name]];
                if (double.IsNaN(expected)) Assert.True(double.IsNaN(got), $"step {step.Step} {name}: {got}, expected empty");
                else Assert.True(Math.Abs(got - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"step {step.Step} {name}: {got} vs {expected}");
                checkedValues++;
            }
            // The forward pass of the step's batch (shuffle off: examples in order), from the weights before the update.
            var input = Enumerable.Range((step.Batch - 1) * batch, rows).Select(e => new[] { data.Feature(e, 0), data.Feature(e, 1) }).ToArray();
            for (int l = 0; l < layers; l++)
            {
                string p = $"layer{l}.";
                int outs = b[l].Length, ins = w[l].Length / outs;
                Expect(p + "weight.grad_norm", Norm(dw[l]) * scale);
                Expect(p + "bias.grad_norm", Norm(db[l]) * scale);
                double wn = Norm(wBefore[l]), bn = Norm(bBefore[l]);
                Expect(p + "weight.norm", wn);
                Expect(p + "bias.norm", bn);
                double wu = Norm(w[l].Zip(wBefore[l], (x, y) => x - y)), bu = Norm(b[l].Zip(bBefore[l], (x, y) => x - y));
                Expect(p + "weight.update_norm", wu);
                Expect(p + "bias.update_norm", bu);
                Expect(p + "weight.update_ratio", wn > 0 ? wu / wn : double.NaN);
                Expect(p + "bias.update_ratio", bn > 0 ? bu / bn : double.NaN);

                var z = input.Select(x => Enumerable.Range(0, outs).Select(j => b[l].Length == 0 ? 0 : bBefore[l][j] + Enumerable.Range(0, ins).Sum(i => wBefore[l][j * ins + i] * x[i])).ToArray()).ToArray();
                var all = z.SelectMany(v => v).ToArray();
                double mean = all.Average();
                Expect(p + "pre_mean", mean);
                Expect(p + "pre_std", Math.Sqrt(all.Sum(v => (v - mean) * (v - mean)) / all.Length));
                Func<double, bool> passes = kinds[l] switch
                {
                    "relu" => v => v > 0,
                    "sigmoid" => v => { double a = 1 / (1 + Math.Exp(-v)); return a * (1 - a) >= 0.0025; },
                    _ => v => { double a = Math.Tanh(v); return 1 - a * a >= 0.01; },
                };
                double stuck = Enumerable.Range(0, outs).Count(j => !z.Any(r => passes(r[j]))) / (double)outs;
                Expect(p + (kinds[l] == "relu" ? "dead" : "saturated"), stuck);
                deadOrSaturated += stuck;
                input = [.. z.Select(r => r.Select(v => kinds[l] switch { "relu" => Math.Max(0, v), "sigmoid" => 1 / (1 + Math.Exp(-v)), _ => Math.Tanh(v) }).ToArray())];
            }
        }
        Assert.Equal(seen.Steps.Count * written.ProbeColumns.Count, checkedValues); // every column of every step
        if (hidden == "relu") Assert.True(deadOrSaturated > 0, "a dead unit among the steps (uniform ±1 weights on xor kill some)");

        // Histograms at each epoch's end: of the weights then, and of the last step's reduced gradient.
        Assert.Equal([1, 2, 3], seen.Histograms.Select(h => h.Epoch));
        foreach (var (epoch, histograms) in seen.Histograms)
        {
            var last = seen.Steps.Last(x => x.Step.Epoch == epoch);
            int lastRows = Math.Min(batch, 120 - (last.Step.Batch - 1) * batch);
            foreach (var h in histograms)
            {
                double scale = h.Of == "gradient" && reduction == "mean" ? 1.0 / lastRows : 1.0;
                var tensor = (h.Tensor, h.Of) switch
                {
                    ("weight", "value") => last.W[h.Layer], ("bias", "value") => last.B[h.Layer],
                    ("weight", _) => last.DW[h.Layer], _ => last.DB[h.Layer],
                };
                Assert.Equal(tensor.Length, h.Counts.Sum());
                double low = tensor.Min() * scale, high = tensor.Max() * scale, pad = low == high ? 0.5 : 0; // one value: a bin either side
                Assert.Equal(low - pad, h.Low, 1e-15);
                Assert.Equal(high + pad, h.High, 1e-15);
                Assert.Equal(5, h.Counts.Length);
            }
        }
        Assert.Equal(3 * 4 * layers, File.ReadAllLines(Path.Combine(dir.Path, StepLog.HistogramsFile)).Length);
    }

    [Fact]
    public void At_the_same_rate_a_summed_step_is_B_times_an_averaged_one()
    {
        // The headline's mechanism: from the same weights, plain SGD's first update with summed gradients is
        // exactly B times the averaged one — gradient norm and update/weight ratio alike, in every layer.
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("mean"));
        Directory.CreateDirectory(dir.File("sum"));
        const int B = 24;
        var mean = Train(Parse("sgd", "mean", "relu", B), dir.File("mean")).Written.Steps[0].Probes!;
        var sum = Train(Parse("sgd", "sum", "relu", B), dir.File("sum")).Written;
        var names = sum.ProbeColumns;
        for (int i = 0; i < names.Count; i++)
            if (names[i].EndsWith("grad_norm", StringComparison.Ordinal) || names[i].EndsWith("update_norm", StringComparison.Ordinal) || names[i].EndsWith("weight.update_ratio", StringComparison.Ordinal))
                Assert.True(Math.Abs(sum.Steps[0].Probes![i] / mean[i] - B) < 1e-12 * B, $"{names[i]}: {sum.Steps[0].Probes![i]} / {mean[i]}");
    }

    private const string Resumable = """
        name: pr
        seed: 4
        dataset: { name: spirals, samples: 300, classes: 3, noise: 0.2 }
        model: { layers: [ { units: 12, activation: relu }, { units: 3, activation: softmax } ], init: { scheme: he_uniform } }
        loss: cross_entropy
        training: { optimizer: adam, learning_rate: 0.02, batch_size: 32, epochs: 5 }
        probes: { every_steps: 3, histograms: true }
        """;

    private static string Unzipped(string path)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        return reader.ReadToEnd();
    }

    [Fact]
    public void A_resumed_run_has_the_probes_and_histograms_of_an_uninterrupted_one()
    {
        using var dir = new TempDir();
        RunResult Run(string runs, CancellationTokenSource? cancel = null, int stopAfter = 0) =>
            ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(Resumable, "pr.yaml"), new RunOptions
            {
                RunsRoot = runs, OnEpoch = m => { if (m.Epoch == stopAfter) cancel!.Cancel(); }, Cancel = cancel?.Token ?? TestContext.Current.CancellationToken,
            });
        var whole = Run(dir.File("whole"));
        using var cancel = new CancellationTokenSource();
        var cut = Run(dir.File("cut"), cancel, stopAfter: 2);
        Assert.Equal(RunStatus.Killed, cut.Status);
        var resumed = ExpRunner.ExperimentRunner.Resume(cut.Folder, new RunOptions { RunsRoot = dir.File("cut") });
        Assert.Equal(RunStatus.Finished, resumed.Status);
        string expected = Unzipped(whole.Folder.PathOf(StepLog.File));
        Assert.Equal(expected, Unzipped(cut.Folder.PathOf(StepLog.File)));
        Assert.Contains(",layer0.dead,", expected.Split('\n')[0]);
        // Probed every third step: those rows carry values, the others leave the columns empty.
        var rows = StepLog.ReadRecord(whole.Folder.PathOf(StepLog.File)).Steps;
        Assert.All(rows, r => Assert.Equal(r.Step % 3 == 0, r.Probes is not null));
        Assert.Equal(File.ReadAllText(whole.Folder.PathOf(StepLog.HistogramsFile)), File.ReadAllText(cut.Folder.PathOf(StepLog.HistogramsFile)));
        Assert.Equal(5 * 4 * 2, File.ReadAllLines(cut.Folder.PathOf(StepLog.HistogramsFile)).Length);
    }

    [Fact]
    public void Probing_changes_nothing_it_measures_and_no_thread_count_changes_the_probes()
    {
        using var dir = new TempDir();
        RunResult Run(string yaml, string runs) => ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(yaml, "pr.yaml"), new RunOptions { RunsRoot = runs, Cancel = TestContext.Current.CancellationToken });
        // Two hidden layers of 300: their product (32 × 300 × 300) is split across threads when there are two.
        string wide = Resumable.Replace("{ units: 12, activation: relu }", "{ units: 300, activation: relu }, { units: 300, activation: relu }").Replace("probes: { every_steps: 3, histograms: true }", "probes: {}");
        var probed = Run(wide, dir.File("probed"));
        var plain = Run(wide.Replace("probes: {}", ""), dir.File("plain"));
        var threaded = Run(wide.Replace("epochs: 5 }", "epochs: 5, threads: 2 }"), dir.File("threaded"));
        static byte[] Tensors(RunResult r) // the weights' bytes after the header (which names the run)
        {
            var bytes = File.ReadAllBytes(r.Folder.PathOf(RunFolder.WeightsFile));
            return bytes[(8 + (int)BitConverter.ToInt64(bytes, 0))..];
        }
        Assert.Equal(Tensors(plain), Tensors(probed));
        string Fixed(RunResult r) => string.Join('\n', Unzipped(r.Folder.PathOf(StepLog.File)).Split('\n').Skip(1).Select(l => string.Join(',', l.Split(',').Take(6))));
        Assert.Equal(Fixed(plain), Fixed(probed));
        Assert.Equal(Unzipped(probed.Folder.PathOf(StepLog.File)), Unzipped(threaded.Folder.PathOf(StepLog.File)));
    }

    [Fact]
    public void A_mistyped_probes_block_is_refused_where_it_was_written()
    {
        var errors = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("""
            name: bad
            dataset: xor
            model: { layers: [ { units: 1, activation: sigmoid } ] }
            loss: bce
            probes: { every_step: 5, bins: 1 }
            """, "bad.yaml")).Errors;
        Assert.Contains(errors, e => e.Key == "probes.every_step" && e.Message.Contains("did you mean 'every_steps'") && e.Location == "bad.yaml:5:11");
        Assert.Contains(errors, e => e.Key == "probes.bins" && e.Location == "bad.yaml:5:32");
    }

    [Fact]
    public void Pandas_reads_the_probes_and_the_histograms_in_one_line_each()
    {
        using var dir = new TempDir();
        var run = ExpRunner.ExperimentRunner.Run(ConfigLoader.Parse(Resumable, "pr.yaml"), new RunOptions { RunsRoot = dir.Path, Cancel = TestContext.Current.CancellationToken });
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", "import pandas, sys; s = pandas.read_csv(sys.argv[1]); h = pandas.read_json(sys.argv[2], lines=True); "
            + "p = s.dropna(subset=['layer0.weight.update_ratio']); print(len(s), len(p), p.step.iloc[0], '%.17g' % p['layer0.dead'].iloc[0], len(h), sorted(set(h['of'])), len(h['counts'].iloc[0]))",
            run.Folder.PathOf(StepLog.File), run.Folder.PathOf(StepLog.HistogramsFile) }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"python3-pandas (make test installs it): {error}");
        var record = StepLog.ReadRecord(run.Folder.PathOf(StepLog.File));
        double dead = record.Steps.First(x => x.Probes is not null).Probes![record.ProbeColumns.ToList().IndexOf("layer0.dead")];
        // 240 training points in batches of 32: 8 steps an epoch, 40 in all, every third probed; 5 epochs × 2 layers × 4 histograms of 32 bins.
        Assert.Equal($"40 13 3 {dead.ToString("G17", System.Globalization.CultureInfo.InvariantCulture)} 40 ['gradient', 'value'] 32\n", output);
    }
}

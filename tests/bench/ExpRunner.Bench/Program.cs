using System.Globalization;
using System.Diagnostics;
using BenchmarkDotNet.Running;
using ExpRunner;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;
using ExpRunner.Training;

// Modes: `profile CONFIG [THREADS] [float64]` times each phase of training on Fashion-MNIST; `eval CONFIG [THREADS]`
// times evaluation passes (used by train_bench.py); `gemm [THREADS] [BITS] [float32|float64] [BATCH,IN,OUT ...]` prints GFLOP/s of the
// three products at the training shapes (or those given); `config FILE` times reading a config the first time in a process
// (YAML parse, YAML write, the whole loader) and again; otherwise the BenchmarkDotNet kernels.
if (args.Length >= 1 && args[0] == "profile")
{
    if (args.Length > 3 && args[3] == "float64") Profile.Run<double>(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
    else Profile.Run<float>(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1);
    return;
}
if (args.Length >= 1 && args[0] == "eval")
{
    Profile.Eval(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1);
    return;
}
if (args.Length >= 1 && args[0] == "gemm")
{
    bool f64 = args.Length > 3 && args[3] == "float64", named = args.Length > 3 && args[3] is "float32" or "float64";
    var shapes = args.Skip(named ? 4 : 3).Select(a => a.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray()).Select(v => (v[0], v[1], v[2])).ToArray();
    int gemmThreads = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1, gemmBits = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 512;
    if (f64) Profile.Gemms<double>(gemmThreads, gemmBits, shapes);
    else Profile.Gemms<float>(gemmThreads, gemmBits, shapes);
    return;
}
if (args.Length >= 1 && args[0] == "config")
{
    var sw = Stopwatch.StartNew();
    var ys = new YamlDotNet.RepresentationModel.YamlStream();
    ys.Load(new StringReader(File.ReadAllText(args[1])));
    Console.WriteLine($"yaml parse cold {sw.Elapsed.TotalMilliseconds:0.0} ms");
    sw.Restart();
    var w = new StringWriter();
    ys.Save(w, assignAnchors: false);
    Console.WriteLine($"yaml save cold {sw.Elapsed.TotalMilliseconds:0.0} ms");
    sw.Restart();
    ConfigLoader.Load(args[1]);
    double cold = sw.Elapsed.TotalMilliseconds;
    sw.Restart();
    ConfigLoader.Load(args[1]);
    Console.WriteLine($"config load cold {cold:0.0} ms (after the YAML above), warm {sw.Elapsed.TotalMilliseconds:0.00} ms");
    return;
}
if (args.Length >= 3 && args[0] == "index")
{
    IndexScale.Run(args[1], args[2], args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 0);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Profile).Assembly).Run(args);

/// <summary>
/// `index make DIR N`: an index of N generated runs (the shape of index_ui.sh's: 29 params, 7 metrics, 20
/// experiments) with no folders behind it; prints its bytes a run. `index newest DIR` / `index grouped DIR`:
/// from this process's start, the newest 20 runs, and a compare grouped by two params of every run, added up
/// in the index (`index grouped-rows DIR`: the same from every run's row, the baseline) —
/// what the index engine costs at that size (the folders' listing is measured at 100,000 runs by index_ui.sh).
/// </summary>
static class IndexScale
{
    public static void Run(string mode, string dir, int n)
    {
        string root = Path.Combine(dir, "runs"), cache = Path.Combine(dir, "cache");
        Directory.CreateDirectory(root);
        double Since() => (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;
        var inv = CultureInfo.InvariantCulture;
        switch (mode)
        {
            case "make":
            {
                using var index = ExpRunner.Compare.RunIndex.Open(root, cache);
                var rng = new Random(1);
                var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
                var batch = new List<(string, ExpRunner.Compare.RunRow)>(50_000);
                for (int i = 0; i < n; i++)
                {
                    string id = $"{t0.AddSeconds(i):yyyyMMdd-HHmmss}-{i:x6}", exp = $"exp{i % 20}";
                    var p = new Dictionary<string, string>
                    {
                        ["name"] = exp, ["seed"] = i.ToString(inv), ["precision"] = "float32", ["dataset.name"] = "xor", ["dataset.noise"] = "0.05",
                        ["dataset.samples"] = "1000", ["dataset.test_split"] = "0.2", ["dataset.validation_split"] = "0", ["dataset.train_limit"] = "0",
                        ["dataset.test_limit"] = "0", ["model.layers.0.units"] = "8", ["model.layers.0.activation"] = "tanh", ["model.layers.1.units"] = "1",
                        ["model.layers.1.activation"] = "sigmoid", ["model.init.scheme"] = "xavier_uniform", ["model.bias_init.scheme"] = "zeros", ["loss"] = "bce",
                        ["training.optimizer"] = "sgd", ["training.optimizer.momentum"] = "0", ["training.optimizer.dampening"] = "0", ["training.optimizer.nesterov"] = "false",
                        ["training.optimizer.weight_decay"] = "0", ["training.optimizer.decoupled"] = "false",
                        ["training.learning_rate"] = new[] { "0.001", "0.01", "0.1", "1.0" }[rng.Next(4)], ["training.batch_size"] = "32", ["training.epochs"] = "2",
                        ["training.gradient_reduction"] = rng.Next(2) == 0 ? "mean" : "sum", ["training.shuffle"] = "true", ["training.threads"] = "1",
                    };
                    var m = new Dictionary<string, double>
                    {
                        ["train_loss"] = rng.NextDouble(), ["train_accuracy"] = rng.NextDouble(), ["test_loss"] = rng.NextDouble(), ["test_accuracy"] = rng.NextDouble(),
                        ["epochs_run"] = 2, ["duration"] = 0.167, ["best_epoch"] = 2,
                    };
                    batch.Add(($"{exp}/{id}", new ExpRunner.Compare.RunRow(id, exp, "FINISHED", Path.Combine(root, exp, id), t0.AddSeconds(i), p, m)
                        { Owner = new ExpRunner.Tracking.ProcessRef("host", 1, null) }));
                    if (batch.Count == batch.Capacity || i == n - 1) { index.Put(batch); batch.Clear(); }
                }
                long bytes = Directory.GetFiles(cache).Sum(f => new FileInfo(f).Length);
                Console.WriteLine(string.Create(inv, $"runs={n} bytes_per_run={bytes / Math.Max(1, n)}"));
                break;
            }
            case "newest":
            {
                using var index = ExpRunner.Compare.RunIndex.Open(root, cache);
                var (rows, total) = index.Newest(20);
                Console.WriteLine(string.Create(inv, $"seconds={Since():0.000} rows={rows.Count} total={total}"));
                break;
            }
            case "grouped": // as compare --group-by does it: added up where the index holds the runs
            {
                using var index = ExpRunner.Compare.RunIndex.Open(root, cache);
                string[] by = ["training.gradient_reduction", "training.learning_rate"];
                var (groups, runs, _, _) = index.Groups(by, [.. ExpRunner.Compare.Comparison.MetricColumns.Select(c => c.Name)], allAttempts: false, effective: true);
                var c = ExpRunner.Compare.Comparison.FromGroups(groups, new ExpRunner.Compare.ComparisonOptions { GroupBy = by });
                Console.WriteLine(string.Create(inv, $"seconds={Since():0.000} runs={runs} groups={c.Rows.Count}"));
                break;
            }
            case "grouped-rows": // the baseline: every run's row made, then grouped
            {
                using var index = ExpRunner.Compare.RunIndex.Open(root, cache);
                var set = index.Held();
                var c = ExpRunner.Compare.Comparison.Build(set.Rows, new ExpRunner.Compare.ComparisonOptions { GroupBy = ["training.gradient_reduction", "training.learning_rate"] });
                Console.WriteLine(string.Create(inv, $"seconds={Since():0.000} runs={set.Rows.Count} groups={c.Rows.Count}"));
                break;
            }
            default: throw new ArgumentException($"index {mode}: make, newest or grouped");
        }
    }
}

static class Profile
{
    /// <summary>
    /// `eval CONFIG THREADS`: passes of the evaluator (the code path of `exprunner eval`, batches
    /// of SavedModel.EvalBatch) over the full test split; prints the first pass and the median of the next five.
    /// </summary>
    public static void Eval(string configPath, int threads)
    {
        var c = ConfigLoader.Load(configPath).Config;
        var data = DatasetLoader.Load(c.Dataset with { TestLimit = 0 }, c.Seed);
        int batch = int.TryParse(Environment.GetEnvironmentVariable("EVAL_BATCH"), CultureInfo.InvariantCulture, out int eb) ? eb : SavedModel.EvalBatch(threads);
        var net = ModelBuilder.Build<float>(c.Model, data.Features, batch, c.Seed);
        net.Threads = threads;
        var ev = new Evaluator<float>(net, Loss<float>.Create(SnakeNames<LossKind>.Of(c.Loss)));
        var rates = new double[6];
        for (int r = 0; r < rates.Length; r++) rates[r] = ev.Evaluate(data.Test).ExamplesPerSecond;
        var warm = rates[1..];
        Array.Sort(warm);
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"cold={rates[0]:0} warm={warm[warm.Length / 2]:0}"));
        if (Environment.GetEnvironmentVariable("PHASES") != "1") return;
        var x = new float[batch * net.Inputs]; var y = new float[batch * net.Outputs];
        var loss = Loss<float>.Create(SnakeNames<LossKind>.Of(c.Loss));
        var t = new double[3]; var sw = new Stopwatch();
        for (int s = 0; s < data.Test.Count; s += batch)
        {
            int rows = Math.Min(batch, data.Test.Count - s);
            sw.Restart(); data.Test.Data.FillBatch<float>(data.Test.Indices.AsSpan(s, rows), x, y, net.Outputs); t[0] += sw.Elapsed.TotalSeconds;
            sw.Restart(); net.Forward(x, rows); t[1] += sw.Elapsed.TotalSeconds;
            sw.Restart(); net.LossSum(loss, y, rows); t[2] += sw.Elapsed.TotalSeconds;
        }
        Console.WriteLine($"fill {t[0]:0.0000} forward {t[1]:0.0000} loss {t[2]:0.0000}");
    }

    /// <summary>`gemm THREADS BITS [float64] [BATCH,IN,OUT ...]`: GFLOP/s of the three products at the training shapes of C1, C3 and C4
    /// and of six thesis networks trained together (or at the shapes given).</summary>
    public static void Gemms<T>(int threads, int bits, (int, int, int)[] shapes) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Rng(1);
        if (shapes.Length == 0)
            shapes = [(100, 20, 20), (100, 20, 10), (10, 784, 30), (10, 30, 10), (1024, 784, 128), (1024, 128, 64), (1024, 64, 10), (1024, 784, 20), (1024, 784, 512), (1024, 20, 20), (100, 784, 20), (100, 784, 120), (64, 784, 128), (64, 128, 64), (128, 784, 512), (128, 512, 512), (128, 512, 10)];
        foreach (var (b, i, o) in shapes)
        {
            T[] R(int n) { var r = new T[n]; for (int q = 0; q < n; q++) r[q] = T.CreateChecked(rng.Uniform(-1, 1)); return r; }
            T[] x = R(b * i), w = R(o * i), dz = R(b * o), z = new T[b * o], dw = new T[o * i], dx = new T[b * i];
            double Time(Action f)
            {
                var warm = Stopwatch.StartNew();
                while (warm.Elapsed.TotalSeconds < 0.5) f(); // past tiered compilation
                int reps = (int)Math.Max(20, 2e9 / (2.0 * b * i * o));
                var sw = Stopwatch.StartNew();
                for (int q = 0; q < reps; q++) f();
                return 2.0 * b * i * o * reps / sw.Elapsed.TotalSeconds / 1e9;
            }
            double f1 = Time(() => Gemm.MultiplyTransposedB<T>(x, w, z, b, o, i, threads, bits));
            double f2 = Time(() => Gemm.MultiplyTransposedA<T>(dz, x, dw, o, i, b, threads, vectorBits: bits));
            double f3 = Time(() => Gemm.Multiply<T>(dz, w, dx, b, i, o, threads, bits));
            Console.WriteLine($"b{b,-4} {i,4}x{o,-4} forward {f1,6:0.0}  dW {f2,6:0.0}  dX {f3,6:0.0} GFLOP/s");
        }
    }

    public static void Run<T>(string configPath, int threads) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var c = ConfigLoader.Load(configPath).Config;
        var data = DatasetLoader.Load(c.Dataset, c.Seed);
        var net = ModelBuilder.Build<T>(c.Model, data.Features, c.Training.BatchSize, c.Seed);
        net.Threads = threads;
        var loss = Loss<T>.Create(SnakeNames<LossKind>.Of(c.Loss));
        var sgd = Optimizer<T>.Create(c.Training, net);
        int b = c.Training.BatchSize, n = data.Train.Count;
        var x = new ExpRunner.Nn.Aligned<T>(b * net.Inputs); var y = new T[b * net.Outputs];
        var order = (int[])data.Train.Indices.Clone();
        if (Environment.GetEnvironmentVariable("SHUFFLE") == "1") new Rng(1).Shuffle<int>(order);
        var t = new double[5];
        var sw = new Stopwatch();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            Array.Clear(t);
            for (int s = 0; s + b <= n; s += b)
            {
                sw.Restart(); data.Train.Data.FillBatch<T>(order, s, b, x, y, net.Outputs, net.InputParts(b)); t[0] += sw.Elapsed.TotalSeconds;
                sw.Restart(); net.Forward(x, b); t[1] += sw.Elapsed.TotalSeconds;
                sw.Restart(); net.LossSum(loss, y, b); t[2] += sw.Elapsed.TotalSeconds;
                sw.Restart(); net.Backward(x, y, b, loss); t[3] += sw.Elapsed.TotalSeconds;
                sw.Restart(); sgd.Step(net, b, c.Training.LearningRate); t[4] += sw.Elapsed.TotalSeconds;
            }
        }
        Console.WriteLine($"fill {t[0]:0.000}  forward {t[1]:0.000}  loss {t[2]:0.000}  backward {t[3]:0.000}  step {t[4]:0.000}  total {t.Sum():0.000} s/epoch -> {n / t.Sum():0} samples/s");
    }
}

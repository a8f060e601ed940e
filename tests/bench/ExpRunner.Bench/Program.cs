using System.Globalization;
using System.Diagnostics;
using BenchmarkDotNet.Running;
using ExpRunner;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;
using ExpRunner.Training;

// Modes: `profile CONFIG [THREADS] [float64]` times each phase of training on Fashion-MNIST; `eval CONFIG [THREADS]`
// times evaluation passes (used by train_bench.py); `gemm [THREADS] [BITS] [float64]` prints GFLOP/s of the
// three products at the training shapes; `config FILE` times reading a config the first time in a process
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
    if (args.Length > 3 && args[3] == "float64") Profile.Gemms<double>(int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture));
    else Profile.Gemms<float>(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 512);
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
BenchmarkSwitcher.FromAssembly(typeof(Profile).Assembly).Run(args);

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

    /// <summary>`gemm THREADS BITS [float64]`: GFLOP/s of the three products at the training shapes of C1, C3 and C4.</summary>
    public static void Gemms<T>(int threads, int bits) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Rng(1);
        foreach (var (b, i, o) in new[] { (100, 20, 20), (100, 20, 10), (10, 784, 30), (10, 30, 10), (1024, 784, 128), (1024, 128, 64), (1024, 64, 10), (1024, 784, 20), (1024, 784, 512), (1024, 20, 20), (100, 784, 20), (64, 784, 128), (64, 128, 64), (128, 784, 512), (128, 512, 512), (128, 512, 10) })
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
        var x = new T[b * net.Inputs]; var y = new T[b * net.Outputs];
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

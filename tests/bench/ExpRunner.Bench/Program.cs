using System.Diagnostics;
using BenchmarkDotNet.Running;
using ExpRunner;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;
using ExpRunner.Training;

// `profile CONFIG`: time each phase of training on Fashion-MNIST; otherwise BenchmarkDotNet kernels.
if (args.Length >= 1 && args[0] == "profile")
{
    Profile.Run(args[1], args.Length > 2 ? int.Parse(args[2]) : 1);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Profile).Assembly).Run(args);

static class Profile
{
    public static void Run(string configPath, int threads)
    {
        var c = ConfigLoader.Load(configPath).Config;
        var data = DatasetLoader.Load(c.Dataset, c.Seed);
        var net = ModelBuilder.Build<float>(c.Model, data.Features, c.Training.BatchSize, c.Seed);
        net.Threads = threads;
        var loss = Loss<float>.Create(c.Loss);
        var sgd = new Sgd<float>(c.Training, net);
        int b = c.Training.BatchSize, n = data.Train.Count;
        var x = new float[b * net.Inputs]; var y = new float[b * net.Outputs];
        var order = (int[])data.Train.Indices.Clone();
        if (Environment.GetEnvironmentVariable("SHUFFLE") == "1") new Rng(1).Shuffle<int>(order);
        var t = new double[5];
        var sw = new Stopwatch();
        for (int epoch = 0; epoch < 3; epoch++)
        {
            Array.Clear(t);
            for (int s = 0; s + b <= n; s += b)
            {
                sw.Restart(); data.Train.Data.FillBatch<float>(order.AsSpan(s, b), x, y, net.Outputs); t[0] += sw.Elapsed.TotalSeconds;
                sw.Restart(); net.Forward(x, b); t[1] += sw.Elapsed.TotalSeconds;
                sw.Restart(); net.LossSum(loss, y, b); t[2] += sw.Elapsed.TotalSeconds;
                sw.Restart(); net.Backward(x, y, b, loss); t[3] += sw.Elapsed.TotalSeconds;
                sw.Restart(); sgd.Step(net, b); t[4] += sw.Elapsed.TotalSeconds;
            }
        }
        Console.WriteLine($"fill {t[0]:0.000}  forward {t[1]:0.000}  loss {t[2]:0.000}  backward {t[3]:0.000}  step {t[4]:0.000}  total {t.Sum():0.000} s/epoch -> {n / t.Sum():0} samples/s");
    }
}

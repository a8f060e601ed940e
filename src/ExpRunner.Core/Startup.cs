using System.Reflection;
using System.Runtime.CompilerServices;
using ExpRunner.IO;
using ExpRunner.Nn;
using ExpRunner.Tracking;
using ExpRunner.Training;

namespace ExpRunner;

/// <summary>
/// What a run does besides training — read its config, make its data, write its records as JSON,
/// its metrics lines and learning curves — compiled on another thread while the main thread parses
/// the command line and loads the config, so that none of it waits for the just-in-time compiler
/// (measured: ~35 ms for the first run.json, as much for the last curves.svg, ~20 ms for the config on
/// a small run), and the numeric code while the data loads (<see cref="Numeric"/>). Nothing depends on
/// any of it finishing. The one start-up class, at the top of Core beside <see cref="ExperimentRunner"/>,
/// because it touches every layer.
/// </summary>
public static class Startup
{
    /// <summary>
    /// Started as the process starts, on another thread, so that it compiles while the command line
    /// is parsed on the main thread: reading and writing a config (YamlDotNet builds a compiled
    /// regular expression on its first parse; our binding and the emitter's generic code compile on
    /// first use) and generating a small dataset; then, with <paramref name="records"/> (a run with a
    /// core to spare), the JSON records and metrics lines. Costs no more CPU than doing it later.
    /// </summary>
    public static Task Start(bool records) => Task.Factory.StartNew(() =>
    {
        var loaded = Config.ConfigLoader.Parse(SampleConfig, "warmup.yaml", ["training.learning_rate=0.1"]);
        Config.ConfigWriter.ToYaml(loaded.Config, "warmup");
        Data.DatasetLoader.Load(loaded.Config.Dataset, loaded.Config.Seed);
        if (records) Records();
    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private const string SampleConfig = """
        name: warmup
        seed: 1
        dataset: { name: xor, samples: 100, noise: 0.05 }
        model:
          layers:
            - { units: 4, activation: tanh }
            - { units: 1, activation: sigmoid }
          init: { scheme: xavier_uniform }
        loss: bce
        training: { learning_rate: 0.5, batch_size: 32, epochs: 2, gradient_reduction: mean }
        """;

    private static readonly MetricRow[] Rows = [new(1, "train", 1, 0.5, 0.5, 0.1, 0.1, 0), new(1, "test", 1, 0.5, 0.5, 0.1, 0.1, 0),
        new(2, "train", 2, 0.4, 0.6, 0.1, 0.1, 0), new(2, "test", 2, 0.4, 0.6, 0.1, 0.1, 0)];

    /// <summary>The learning curves: needed last (started after the numeric code's compilation).</summary>
    public static void Curves() => Plots.LearningCurves.ForRun("warmup", Rows);

    private static void Records()
    {
        var now = DateTimeOffset.UnixEpoch;
        var record = new RunRecord
        {
            Id = "warmup", Experiment = "warmup", Status = RunStatus.Running, Started = now, Ended = now, Seed = 1, ConfigFile = "-",
            Overrides = ["a=1"], Precision = "float32", Threads = 1, Versions = Provenance.Versions(), Host = "-", User = "-", Pid = 1,
            Dataset = new Data.DatasetFingerprint("-", "-", 1, 0, 1, new Dictionary<string, string> { ["-"] = "-" }), DurationSeconds = 1, ExitCode = 0,
        };
        var summary = new RunSummary
        {
            Id = "warmup", Experiment = "warmup", Status = RunStatus.Finished, EpochsRun = 1, Steps = 1, DurationSeconds = 1,
            Final = new Dictionary<string, double> { ["test_loss"] = 1 }, Best = new Dictionary<string, double> { ["test_loss"] = 1 },
            Params = new Dictionary<string, string> { ["a"] = "1" }, Data = record.Dataset, WeightsEpoch = 1,
        };
        Json.Deserialize<RunRecord>(Json.Serialize(record));
        Json.Deserialize<RunSummary>(Json.Serialize(summary));
        foreach (var r in Rows) RunFolder.MetricsLine(r);
        // The per-step record's compression (zlib's first use), in memory.
        using (var gzip = new System.IO.Compression.GZipStream(new MemoryStream(), System.IO.Compression.CompressionLevel.Optimal))
            gzip.Write(System.Text.Encoding.UTF8.GetBytes(StepLog.Header + "\n1,1,1,0.5,0.5,0.1\n"));
    }

    private static readonly Type[] Roots =
    [
        typeof(Gemm), typeof(Elementwise), typeof(WorkerPool), typeof(Network<>), typeof(Activation<>), typeof(Loss<>),
        typeof(Data.Dataset), typeof(Trainer<>), typeof(Evaluator<>), typeof(Optimizer<>), typeof(SgdOptimizer<>), typeof(AdamOptimizer<>),
        typeof(RmspropOptimizer<>), typeof(AdagradOptimizer<>),
    ];

    /// <summary>
    /// Starts compiling the numeric code (kernels, element-wise passes, network, losses, activations,
    /// batch filling, training and evaluation loops) for float32, or float64 (the config's precision)
    /// in the background, so that the just-in-time compiler works while the caller loads its dataset
    /// instead of during the first batches (measured: a single evaluation pass of a small network spent
    /// most of its time compiling). Callers start it only with a core to spare
    /// (<see cref="ThreadBudget.SpareCore"/>); nothing depends on it finishing.
    /// </summary>
    public static Task Numeric(bool float64)
    {
        var t = float64 ? typeof(double) : typeof(float);
        return Task.Factory.StartNew(() => Run(t), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static void Run(Type element)
    {
        foreach (var root in Roots)
        {
            Prepare(Close(root, element), element);
            foreach (var nested in root.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
                Prepare(Close(nested, element), element);
        }
    }

    private static Type? Close(Type type, Type element)
    {
        if (!type.IsGenericTypeDefinition) return type;
        if (type.GetGenericArguments().Length != 1) return null;
        try { return type.MakeGenericType(element); }
        catch (ArgumentException) { return null; } // a constraint the element type does not meet
    }

    private static void Prepare(Type? type, Type element)
    {
        if (type is null || type.IsInterface) return;
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        foreach (var method in type.GetMethods(all))
        {
            if (method.IsAbstract) continue;
            var m = method;
            try
            {
                if (m.IsGenericMethodDefinition)
                {
                    if (m.GetGenericArguments().Length != 1) continue;
                    m = m.MakeGenericMethod(element);
                }
                RuntimeHelpers.PrepareMethod(m.MethodHandle);
            }
            catch (ArgumentException) { } // a constraint the element type does not meet
            catch (NotSupportedException) { }
        }
    }
}

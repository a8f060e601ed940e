using System.Numerics;
using ExpRunner.Config;
using ExpRunner.Data;
using ExpRunner.Nn;
using ExpRunner.IO;

namespace ExpRunner.Training;

public sealed record Prediction(Dataset Data, int Example, int Label, int Predicted, double[] Scores);

/// <summary>A finished run's network, rebuilt from its config.yaml and model.safetensors, with its data.</summary>
public sealed class SavedModel
{
    public ExperimentConfig Config { get; }
    public DataSplits Data { get; }
    private readonly SafetensorsHeader _weights;

    /// <summary>
    /// Examples per evaluation batch: 256 per thread (up to 4), so one thread's rows of a batch stay
    /// in L2 (measured on 1 thread: 1024 filled 1.6× slower; on 2 threads 512 ran 1.1–1.2× faster
    /// than 256, each thread's share of a product being bigger).
    /// </summary>
    public static int EvalBatch(int threads) => 256 * Math.Clamp(threads, 1, 4);

    /// <summary>Threads for the matrix products (default: the run's training.threads).</summary>
    public int Threads { get; set; }
    /// <summary>The widest vectors the products may use (0: the widest the CPU has).</summary>
    public int VectorBits { get; set; }

    private SavedModel(ExperimentConfig config, DataSplits data, SafetensorsHeader weights)
    {
        Config = config; Data = data; _weights = weights; Threads = config.Training.Threads;
    }

    /// <summary>A dataset config whose relative file paths are taken from <paramref name="dataBase"/> (the run's working folder).</summary>
    public static DatasetConfig Rebased(DatasetConfig dataset, string? dataBase) => dataBase is null ? dataset : dataset switch
    {
        ImageDataset image when !Path.IsPathRooted(image.ResolvedPath) => image with { Path = Path.Combine(dataBase, image.ResolvedPath) },
        CsvConfig csv => csv with
        {
            Path = Path.IsPathRooted(csv.Path) ? csv.Path : Path.Combine(dataBase, csv.Path),
            TestPath = csv.TestPath is null || Path.IsPathRooted(csv.TestPath) ? csv.TestPath : Path.Combine(dataBase, csv.TestPath),
        },
        _ => dataset,
    };

    /// <summary>The network a config describes, with the weights of <paramref name="weights"/>, and its data.</summary>
    /// <param name="beforeData">Called with whether the config's precision is float64, before the data loads (to compile the numeric code meanwhile, with a core to spare).</param>
    /// <param name="dataBase">The folder a relative data path is resolved against (where the run ran); null: the current folder.</param>
    public static SavedModel Open(string configFile, string weights, Action<bool>? beforeData = null, string? dataBase = null)
    {
        var loaded = ConfigLoader.Load(configFile);
        if (!File.Exists(weights)) throw new InvalidDataException($"{weights}: no saved weights in this run folder");
        var header = Safetensors.ReadHeader(weights); // checked before the data is loaded
        beforeData?.Invoke(loaded.Config.Precision == Precision.Float64);
        var data = DatasetLoader.Load(Rebased(loaded.Config.Dataset, dataBase), loaded.Config.Seed);
        var disagree = ModelBuilder.Disagreements(loaded.Config, data.Features, header.Metadata);
        if (disagree.Count > 0)
            throw new InvalidDataException($"{configFile} does not describe the network of {weights}: {string.Join("; ", disagree)} (was the config edited after training?)");
        return new SavedModel(loaded.Config, data, header);
    }

    /// <summary>
    /// The data files whose SHA-256 differs from what the run recorded when it trained (a changed
    /// dataset makes its results incomparable), as "file: recorded X…, now Y…".
    /// </summary>
    public IReadOnlyList<string> ChangedData(IReadOnlyDictionary<string, string> recorded) =>
        recorded.Where(r => Data.Fingerprint.Sha256.TryGetValue(r.Key, out var now) && now != r.Value)
            .Select(r => $"{Path.Combine(Datasets.Folder(Config.Dataset), r.Key)}: SHA-256 {Data.Fingerprint.Sha256[r.Key][..12]}…, the run trained on {r.Value[..Math.Min(12, r.Value.Length)]}…").ToList();

    public DataSplit Split(string name) => name switch
    {
        "train" => Data.Train,
        "test" => Data.Test,
        "validation" => Data.Validation ?? throw new InvalidDataException("this run has no validation split (dataset.validation_split is 0)"),
        _ => throw new InvalidDataException($"unknown split '{name}'; one of train, validation, test"),
    };

    public Evaluation Evaluate(string split) => Config.Precision == Precision.Float64 ? Evaluate<double>(split) : Evaluate<float>(split);

    public Prediction Predict(string split, int index) => Config.Precision == Precision.Float64 ? Predict<double>(split, index) : Predict<float>(split, index);

    private Network<T> Network<T>(int capacity) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var net = ModelBuilder.Build<T>(Config.Model, Data.Features, capacity, Config.Seed);
        net.Threads = Threads;
        net.VectorBits = VectorBits;
        ModelBuilder.Load(net, _weights);
        return net;
    }

    private Evaluation Evaluate<T>(string split) where T : unmanaged, IFloatingPointIeee754<T> =>
        new Evaluator<T>(Network<T>(EvalBatch(Threads)), Loss<T>.Create(SnakeNames<LossKind>.Of(Config.Loss))).Evaluate(Split(split));

    private Prediction Predict<T>(string split, int index) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = Split(split);
        if (index < 0 || index >= s.Count) throw new InvalidDataException($"--index {index} is outside the {split} split (0..{s.Count - 1})");
        var net = Network<T>(1);
        var x = new T[net.Inputs];
        var y = new T[net.Outputs];
        int example = s.Indices[index];
        s.Data.FillBatch<T>([example], x, y, net.Outputs);
        var output = net.Forward(x, 1);
        var scores = new double[output.Length];
        for (int i = 0; i < scores.Length; i++) scores[i] = double.CreateTruncating(output[i]);
        return new Prediction(s.Data, example, s.Data.Labels[example], Evaluator<T>.Predict(output), scores);
    }
}

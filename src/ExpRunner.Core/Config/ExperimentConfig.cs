namespace ExpRunner.Config;

// The typed configuration. Every default lives here and nowhere else; README's config reference
// lists the same keys. Keys in YAML are the snake_case forms of these property names.

public sealed record ExperimentConfig
{
    public required string Name { get; init; }
    public long Seed { get; init; } = 1;
    public Precision Precision { get; init; } = Precision.Float32;
    public required DatasetConfig Dataset { get; init; }
    public required ModelConfig Model { get; init; }
    public required LossKind Loss { get; init; }
    public TrainingConfig Training { get; init; } = new();
    public TrackingConfig Tracking { get; init; } = new();
    /// <summary>Per-layer measurements of training (`probes:`); none when the block is absent.</summary>
    public ProbesConfig? Probes { get; init; }
    /// <summary>Used by `exprunner sweep` only; a plain run ignores it.</summary>
    public SweepSpec Sweep { get; init; } = new();

}

/// <summary>
/// The dataset group, `dataset: {name: xor, samples: 500, noise: 0.2}`: each dataset one record with
/// only its own settings (image sets their folder, synthetic generators their shape, csv its files);
/// every dataset shares the splits and limits declared here.
/// </summary>
/// <summary>The element type of a run's numbers: float32 (what peers use; twice the SIMD width) or float64 (gradient checks).</summary>
public enum Precision { Float32, Float64 }

/// <summary>The loss a network is trained on (the names Nn's losses go by, snake_case).</summary>
public enum LossKind { Sse, Mse, Bce, CrossEntropy }

/// <summary>A layer's activation (the names Nn's activations go by, snake_case).</summary>
public enum ActivationKind { Sigmoid, Tanh, Relu, LeakyRelu, Softmax, Linear }

public abstract record DatasetConfig
{
    public string Name => Datasets.Kinds.Of(this).Name;

    [Setting("fraction of the training set held out for validation (its last examples)", Min = 0, Max = 1, BelowMax = true)]
    public double ValidationSplit { get; init; }
    [Setting("use only the first N training examples (0: all)", Min = 0, Max = int.MaxValue)] public int TrainLimit { get; init; }
    [Setting("use only the first N test examples (0: all)", Min = 0, Max = int.MaxValue)] public int TestLimit { get; init; }

    /// <summary>Data without a test set of its own (synthetic, a single csv file): the fraction held out as the test set.</summary>
    public virtual double HeldOutTest => 0.2;
    public bool IsImage => this is ImageDataset;
    public bool IsSynthetic => this is SyntheticDataset;
}

/// <summary>MNIST-style IDX files (raw or .gz) in a folder.</summary>
public abstract record ImageDataset : DatasetConfig
{
    /// <summary>The folder of the IDX files; the binder fills in data/&lt;name&gt; when it is not given.</summary>
    [Setting("folder of the four IDX files (raw or .gz); default data/<name>")] public string? Path { get; init; }
    public string ResolvedPath => Path ?? System.IO.Path.Combine("data", Name);
}

[Kind("mnist", "MNIST", "handwritten digits, 28×28, 10 classes (data/mnist from `exprunner data fetch mnist`)")]
public sealed record MnistConfig : ImageDataset;

[Kind("fashion-mnist", "Fashion-MNIST", "clothing images, 28×28, 10 classes (from Debian's dataset-fashion-mnist)")]
public sealed record FashionMnistConfig : ImageDataset;

/// <summary>Points made by a seeded generator (scikit-learn's shapes).</summary>
public abstract record SyntheticDataset : DatasetConfig
{
    [Setting("number of points", Min = 4, Max = 10_000_000)] public int Samples { get; init; } = 1000;
    [Setting("fraction held out as the test set (the last points)", Min = 0, Max = 1, AboveMin = true, BelowMax = true)] public double TestSplit { get; init; } = 0.2;
    [Setting("seed of the generator; default: derived from the experiment's seed")] public long? Seed { get; init; }
    public override double HeldOutTest => TestSplit;
}

[Kind("gaussian_quantiles", "Gaussian quantiles", "an isotropic Gaussian cut into classes by distance from the centre")]
public sealed record GaussianQuantilesConfig : SyntheticDataset
{
    [Setting("dimensions", Min = 1, Max = 100_000)] public int Features { get; init; } = 2;
    [Setting("number of classes", Min = 2, Max = 1000)] public int Classes { get; init; } = 2;
    [Setting("variance of the Gaussian", Min = 0, AboveMin = true)] public double Cov { get; init; } = 1.0;
}

[Kind("xor", "XOR", "four clusters, opposite corners alike (2 classes)")]
public sealed record XorConfig : SyntheticDataset
{
    [Setting("std of the Gaussian noise on the points", Min = 0)] public double Noise { get; init; } = 0.1;
}

[Kind("circles", "circles", "a circle inside a circle (2 classes)")]
public sealed record CirclesConfig : SyntheticDataset
{
    [Setting("std of the Gaussian noise on the points", Min = 0)] public double Noise { get; init; } = 0.1;
    [Setting("radius of the inner circle", Min = 0, Max = 1, AboveMin = true, BelowMax = true)] public double Factor { get; init; } = 0.5;
}

[Kind("moons", "moons", "two interleaving half circles (2 classes)")]
public sealed record MoonsConfig : SyntheticDataset
{
    [Setting("std of the Gaussian noise on the points", Min = 0)] public double Noise { get; init; } = 0.1;
}

[Kind("spirals", "spirals", "interleaved spiral arms, one a class")]
public sealed record SpiralsConfig : SyntheticDataset
{
    [Setting("number of classes (arms)", Min = 2, Max = 1000)] public int Classes { get; init; } = 2;
    [Setting("std of the noise on the angle", Min = 0)] public double Noise { get; init; } = 0.1;
}

[Kind("csv", "CSV", "a CSV file: numeric feature columns and a label column")]
public sealed record CsvConfig : DatasetConfig
{
    [Setting("the CSV file", Required = true)] public string Path { get; init; } = "";
    [Setting("a separate test file; without it test_split is held out")] public string? TestPath { get; init; }
    [Setting("the label column (integers 0..K−1, or names, sorted)")] public string LabelColumn { get; init; } = "label";
    [Setting("fraction held out as the test set when there is no test_path", Min = 0, Max = 1, AboveMin = true, BelowMax = true)] public double TestSplit { get; init; } = 0.2;
    public override double HeldOutTest => TestSplit;
}

/// <summary>The datasets a config can name, and what is known of each before its data is read.</summary>
public static class Datasets
{
    /// <summary>Classes of the data, when known before reading it (not for csv).</summary>
    public static int? Classes(DatasetConfig d) => d switch
    {
        ImageDataset => 10,
        GaussianQuantilesConfig g => g.Classes,
        SpiralsConfig s => s.Classes,
        XorConfig or CirclesConfig or MoonsConfig => 2,
        _ => null,
    };

    /// <summary>The folder the data's files are in ("" for generated data).</summary>
    public static string Folder(DatasetConfig d) => d switch
    {
        ImageDataset image => image.ResolvedPath,
        CsvConfig csv => System.IO.Path.GetDirectoryName(csv.Path) ?? "",
        _ => "",
    };

    /// <summary>Input features and training examples, when known before reading the data (csv: 0, 0).</summary>
    public static (int Inputs, long Examples) Shape(DatasetConfig d) => d switch
    {
        ImageDataset => (784, 60_000L),
        GaussianQuantilesConfig g => (g.Features, g.Samples),
        SyntheticDataset s => (2, s.Samples),
        _ => (0, 0L),
    };

    public static readonly KindSet Kinds = new("dataset", "name",
        [Kind.Of(typeof(MnistConfig)), Kind.Of(typeof(FashionMnistConfig)), Kind.Of(typeof(GaussianQuantilesConfig)), Kind.Of(typeof(XorConfig)),
         Kind.Of(typeof(CirclesConfig)), Kind.Of(typeof(MoonsConfig)), Kind.Of(typeof(SpiralsConfig)), Kind.Of(typeof(CsvConfig))], nameIsGroupKey: false);
}

public sealed record ModelConfig
{
    public required IReadOnlyList<LayerConfig> Layers { get; init; }
    /// <summary>Initialiser of the weights, and of the biases unless <see cref="BiasInit"/> is given.</summary>
    public InitConfig Init { get; init; } = new XavierUniformInit();
    public InitConfig? BiasInit { get; init; }
    /// <summary>The biases' initialiser: bias_init, else zeros under a Xavier or He scheme, else init.</summary>
    public InitConfig EffectiveBiasInit => BiasInit ?? (Init is XavierUniformInit or XavierNormalInit or HeUniformInit or HeNormalInit ? new ZerosInit() : Init);
}

public sealed record LayerConfig
{
    public required int Units { get; init; }
    public required ActivationKind Activation { get; init; }
    /// <summary>The activation's name, as Nn knows it and files write it.</summary>
    public string ActivationName => SnakeNames<ActivationKind>.Of(Activation);
    /// <summary>leaky_relu only: the slope for negative inputs.</summary>
    public double Slope { get; init; } = 0.01;
}

/// <summary>
/// An initialiser group, `init: {scheme: uniform, low: -0.5, high: 0.5}` (or `init: he_normal`): each
/// scheme one record with only its own settings; the formulas are in Nn/Initializer.cs.
/// </summary>
public abstract record InitConfig
{
    public string Scheme => Inits.Kinds.Of(this).Name;
    public virtual Nn.InitSpec ToSpec() => new(Scheme);
}

[Kind("uniform", "uniform", "U(low, high)")]
public sealed record UniformInit : InitConfig
{
    [Setting("the lower bound")] public double Low { get; init; } = -0.5;
    [Setting("the upper bound (above low)")] public double High { get; init; } = 0.5;
    public override Nn.InitSpec ToSpec() => new(Scheme, Low: Low, High: High);
}

[Kind("normal", "normal", "N(mean, std²)")]
public sealed record NormalInit : InitConfig
{
    [Setting("the mean")] public double Mean { get; init; }
    [Setting("the standard deviation", Min = 0, AboveMin = true)] public double Std { get; init; } = 1.0;
    public override Nn.InitSpec ToSpec() => new(Scheme, Mean: Mean, Std: Std);
}

[Kind("xavier_uniform", "Xavier uniform", "U(±√(6/(fan_in + fan_out)))")] public sealed record XavierUniformInit : InitConfig;
[Kind("xavier_normal", "Xavier normal", "N(0, 2/(fan_in + fan_out))")] public sealed record XavierNormalInit : InitConfig;
[Kind("he_uniform", "He uniform", "U(±√(6/fan_in))")] public sealed record HeUniformInit : InitConfig;
[Kind("he_normal", "He normal", "N(0, 2/fan_in)")] public sealed record HeNormalInit : InitConfig;
[Kind("zeros", "zeros", "all 0")] public sealed record ZerosInit : InitConfig;

/// <summary>The initialisers a config can name (model.init, model.bias_init).</summary>
public static class Inits
{
    public static readonly KindSet Kinds = new("model.init", "scheme",
        [Kind.Of(typeof(UniformInit)), Kind.Of(typeof(NormalInit)), Kind.Of(typeof(XavierUniformInit)), Kind.Of(typeof(XavierNormalInit)),
         Kind.Of(typeof(HeUniformInit)), Kind.Of(typeof(HeNormalInit)), Kind.Of(typeof(ZerosInit))], nameIsGroupKey: false);
}

public enum Reduction { Mean, Sum }

/// <summary>How per-example gradients combine in a batch, separately for weights and biases.</summary>
public sealed record GradientReduction(Reduction Weights, Reduction Biases)
{
    public static readonly GradientReduction Mean = new(Reduction.Mean, Reduction.Mean);
    public static readonly GradientReduction Sum = new(Reduction.Sum, Reduction.Sum);
    public override string ToString() => Weights == Biases
        ? Name(Weights)
        : $"{{weights: {Name(Weights)}, biases: {Name(Biases)}}}";
    public static string Name(Reduction r) => r == Reduction.Mean ? "mean" : "sum";
}

public sealed record TrainingConfig
{
    /// <summary>The optimizer and its own settings (a group: see <see cref="OptimizerConfig"/>).</summary>
    public OptimizerConfig Optimizer { get; init; } = new SgdConfig();
    public double LearningRate { get; init; } = 0.01;
    /// <summary>The schedule after the warm-up (a group: see <see cref="ScheduleConfig"/>).</summary>
    public ScheduleConfig Schedule { get; init; } = new ConstantSchedule();
    /// <summary>A linear warm-up over this many epochs before the schedule.</summary>
    public int WarmupEpochs { get; init; }
    public EarlyStopping? EarlyStopping { get; init; }
    public int BatchSize { get; init; } = 32;
    public int Epochs { get; init; } = 10;
    public GradientReduction GradientReduction { get; init; } = GradientReduction.Mean;
    public bool Shuffle { get; init; } = true;
    /// <summary>Threads for the matrix products of one run (results do not depend on it).</summary>
    public int Threads { get; init; } = 1;
}

/// <summary>`training.early_stopping`: stop when the watched validation metric has not improved by more than min_delta for patience epochs.</summary>
[Kind("early_stopping", "early stopping", "stop when the watched validation metric stops improving")]
public sealed record EarlyStopping
{
    public static readonly string[] Metrics = ["validation_loss", "validation_accuracy"];
    public static readonly Kind Declared = Kind.Of(typeof(EarlyStopping));

    [Setting("the validation metric watched", Choices = ["validation_loss", "validation_accuracy"])] public string Metric { get; init; } = "validation_loss";
    [Setting("epochs without an improvement before training stops", Min = 1, Max = 10_000_000)] public int Patience { get; init; } = 5;
    [Setting("an improvement is a change of more than this", Min = 0)] public double MinDelta { get; init; }
    [Setting("keep the weights (and final metrics) of the best epoch")] public bool RestoreBest { get; init; } = true;

    public bool HigherIsBetter => Metric == "validation_accuracy";
}

/// <summary>
/// `probes:` — per-layer measurements of every (or every N-th) step, written as more columns of
/// steps.csv.gz, and optional histograms at epoch ends (histograms.jsonl).
/// </summary>
[Kind("probes", "probes", "per-layer measurements of training, as columns of steps.csv.gz")]
public sealed record ProbesConfig
{
    public static readonly Kind Declared = Kind.Of(typeof(ProbesConfig));

    [Setting("probe every this many training steps", Min = 1, Max = 1_000_000_000)] public int EverySteps { get; init; } = 1;
    [Setting("gradient, weight and update norms and update/weight ratios, for weights and biases")] public bool Norms { get; init; } = true;
    [Setting("dead and saturated units and the pre-activations' mean and std, on the step's batch")] public bool Activations { get; init; } = true;
    [Setting("weight and gradient histograms at each epoch's end (histograms.jsonl)")] public bool Histograms { get; init; }
    [Setting("bins of each histogram", Min = 2, Max = 1000)] public int Bins { get; init; } = 32;
}

/// <summary>Optional mirrors of a run. MLflow: the tracking server's URI and experiment name.</summary>
public sealed record TrackingConfig
{
    public string? MlflowUri { get; init; }
    public string? MlflowExperiment { get; init; }
    /// <summary>Record every this many steps in the run's steps.csv.gz (1: every step).</summary>
    public int EverySteps { get; init; } = 1;
}

namespace ExpRunner.Config;

// The typed configuration. Every default lives here and nowhere else; README's config reference
// lists the same keys. Keys in YAML are the snake_case forms of these property names.

public sealed record ExperimentConfig
{
    public required string Name { get; init; }
    public long Seed { get; init; } = 1;
    public string Precision { get; init; } = "float32";
    public required DatasetConfig Dataset { get; init; }
    public required ModelConfig Model { get; init; }
    public required string Loss { get; init; }
    public TrainingConfig Training { get; init; } = new();
    public TrackingConfig Tracking { get; init; } = new();
    /// <summary>Used by `exprunner sweep` only; a plain run ignores it.</summary>
    public SweepSpec Sweep { get; init; } = new();

    public static readonly string[] Precisions = ["float32", "float64"];
    public static readonly string[] Losses = ["sse", "mse", "bce", "cross_entropy"];
}

public sealed record DatasetConfig
{
    public required string Name { get; init; }
    /// <summary>Folder of the IDX files (mnist, fashion-mnist; default data/NAME) or the CSV file (csv).</summary>
    public string? Path { get; init; }
    /// <summary>CSV only: a separate test file; without it the test set is split off by test_split.</summary>
    public string? TestPath { get; init; }
    public string LabelColumn { get; init; } = "label";
    /// <summary>Fraction of the training set held out (its last examples) for validation.</summary>
    public double ValidationSplit { get; init; }
    /// <summary>Synthetic and single-file CSV data: fraction of examples used as the test set.</summary>
    public double TestSplit { get; init; } = 0.2;
    /// <summary>Use only the first N training / test examples (0 = all).</summary>
    public int TrainLimit { get; init; }
    public int TestLimit { get; init; }
    // Synthetic generators.
    public int Samples { get; init; } = 1000;
    public int Features { get; init; } = 2;
    public int Classes { get; init; } = 2;
    public double Cov { get; init; } = 1.0;
    public double Noise { get; init; } = 0.1;
    public double Factor { get; init; } = 0.5;
    /// <summary>Seed of the synthetic generator; null = derived from the experiment seed.</summary>
    public long? Seed { get; init; }

    public static readonly string[] Names = ["mnist", "fashion-mnist", "gaussian_quantiles", "xor", "circles", "moons", "spirals", "csv"];
    public bool IsImage => Name is "mnist" or "fashion-mnist";
    public bool IsSynthetic => Name is "gaussian_quantiles" or "xor" or "circles" or "moons" or "spirals";
    public string ResolvedPath => Path ?? System.IO.Path.Combine("data", Name);
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
    public required string Activation { get; init; }
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

/// <summary>Optional mirrors of a run. MLflow: the tracking server's URI and experiment name.</summary>
public sealed record TrackingConfig
{
    public string? MlflowUri { get; init; }
    public string? MlflowExperiment { get; init; }
}

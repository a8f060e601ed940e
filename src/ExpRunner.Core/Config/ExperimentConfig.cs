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
    public InitConfig Init { get; init; } = new() { Scheme = "xavier_uniform" };
    public InitConfig? BiasInit { get; init; }
    public InitConfig EffectiveBiasInit => BiasInit ?? (Init.Scheme.StartsWith("xavier", StringComparison.Ordinal) || Init.Scheme.StartsWith("he_", StringComparison.Ordinal) ? new InitConfig { Scheme = "zeros" } : Init);
}

public sealed record LayerConfig
{
    public required int Units { get; init; }
    public required string Activation { get; init; }
    /// <summary>leaky_relu only: the slope for negative inputs.</summary>
    public double Slope { get; init; } = 0.01;
}

public sealed record InitConfig
{
    public required string Scheme { get; init; }
    public double Low { get; init; } = -0.5;
    public double High { get; init; } = 0.5;
    public double Mean { get; init; }
    public double Std { get; init; } = 1.0;
    public Nn.InitSpec ToSpec() => new(Scheme, Low, High, Mean, Std);
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
    public LrSchedule Schedule { get; init; } = new();
    public EarlyStopping? EarlyStopping { get; init; }
    public int BatchSize { get; init; } = 32;
    public int Epochs { get; init; } = 10;
    public GradientReduction GradientReduction { get; init; } = GradientReduction.Mean;
    public bool Shuffle { get; init; } = true;
    /// <summary>Threads for the matrix products of one run (results do not depend on it).</summary>
    public int Threads { get; init; } = 1;
}

/// <summary>
/// The learning rate over training: an optional linear warm-up over <see cref="WarmupEpochs"/>, then
/// <see cref="Kind"/> over the remaining epochs, changed once an epoch or before every batch.
/// </summary>
public sealed record LrSchedule
{
    public string Kind { get; init; } = "constant";
    /// <summary>step: multiply by <see cref="Gamma"/> every this many epochs.</summary>
    public int StepEpochs { get; init; } = 10;
    /// <summary>step: the factor at each step; exponential: the factor per epoch.</summary>
    public double Gamma { get; init; } = 0.1;
    /// <summary>cosine: the rate it ends at.</summary>
    public double MinLr { get; init; }
    public int WarmupEpochs { get; init; }
    /// <summary>epoch (one rate for a whole epoch) or batch (a rate for every step, the epoch counted in fractions).</summary>
    public string Per { get; init; } = "epoch";

    public static readonly string[] Kinds = ["constant", "step", "exponential", "cosine"];
    public static readonly string[] Pers = ["epoch", "batch"];
}

/// <summary>Stop when the monitored validation metric has not improved by more than <see cref="MinDelta"/> for <see cref="Patience"/> epochs.</summary>
public sealed record EarlyStopping
{
    public string Metric { get; init; } = "validation_loss";
    public int Patience { get; init; } = 5;
    public double MinDelta { get; init; }
    /// <summary>Keep the weights of the best epoch (model.safetensors and the final metrics are that epoch's).</summary>
    public bool RestoreBest { get; init; } = true;

    public static readonly string[] Metrics = ["validation_loss", "validation_accuracy"];
    public bool HigherIsBetter => Metric == "validation_accuracy";
}

/// <summary>Optional mirrors of a run. MLflow: the tracking server's URI and experiment name.</summary>
public sealed record TrackingConfig
{
    public string? MlflowUri { get; init; }
    public string? MlflowExperiment { get; init; }
}

namespace ExpRunner.Config;

/// <summary>
/// The learning-rate schedule group, `training.lr_schedule: {kind: cosine, min_lr: 0.001}` (or just
/// `lr_schedule: cosine`), after an optional linear warm-up (`training.warmup_epochs`). Each schedule
/// is one record carrying only its own settings; the formulas are in Training/Schedule.cs.
/// </summary>
public abstract record ScheduleConfig
{
    /// <summary>epoch (one rate for a whole epoch) or batch (a rate for every step, the epoch counted in fractions) — every schedule's setting.</summary>
    [Setting("one rate for a whole epoch, or a rate for every step (the epoch counted in fractions)", Choices = ["epoch", "batch"])]
    public string Per { get; init; } = "epoch";
}

[Kind("constant", "constant", "lr throughout")]
public sealed record ConstantSchedule : ScheduleConfig;

[Kind("step", "step", "lr·γ^⌊τ/step_epochs⌋")]
public sealed record StepSchedule : ScheduleConfig
{
    [Setting("multiply by gamma every this many epochs", Min = 1, Max = 10_000_000)] public int StepEpochs { get; init; } = 10;
    [Setting("the factor at each step", Min = 0, Max = 1, AboveMin = true)] public double Gamma { get; init; } = 0.1;
}

[Kind("exponential", "exponential", "lr·γ^τ")]
public sealed record ExponentialSchedule : ScheduleConfig
{
    [Setting("the factor per epoch", Min = 0, Max = 1, AboveMin = true)] public double Gamma { get; init; } = 0.95;
}

[Kind("cosine", "cosine", "min_lr + (lr − min_lr)·(1 + cos(πτ/T))/2 (PyTorch's CosineAnnealingLR, T_max = the epochs after warm-up)")]
public sealed record CosineSchedule : ScheduleConfig
{
    [Setting("the rate it ends at (below learning_rate)", Min = 0)] public double MinLr { get; init; }
}

/// <summary>The schedules a config can name.</summary>
public static class Schedules
{
    public static readonly KindSet Kinds = new("training.lr_schedule", "kind",
        [Kind.Of(typeof(ConstantSchedule)), Kind.Of(typeof(StepSchedule)), Kind.Of(typeof(ExponentialSchedule)), Kind.Of(typeof(CosineSchedule))], nameIsGroupKey: false);
}

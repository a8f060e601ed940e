namespace ExpRunner.Config;

/// <summary>
/// The optimizer group, `training.optimizer: {name: adam, beta1: 0.95}` (or just `optimizer: adam`).
/// Each optimizer is one record below carrying only its own settings with PyTorch's defaults; a sweep
/// or `--set training.optimizer=…` replaces the group whole, `--set training.optimizer.beta1=…`
/// edits inside it. Adding an optimizer: a record here (and in <see cref="Optimizers.Kinds"/>), its
/// update rule in Training/Optimizer.cs.
/// </summary>
public abstract record OptimizerConfig
{
    /// <summary>L2 weight decay λ on the weights (not the biases).</summary>
    public abstract double Decay { get; }
    /// <summary>Whether weight decay is applied to the weights directly (p ← p − lr·λ·p) rather than added to the reduced gradient.</summary>
    public abstract bool DecoupledDecay { get; }
    /// <summary>Arrays of optimizer state the size of the parameters (momentum, moment estimates).</summary>
    public abstract int StateArrays { get; }
}

/// <summary>An optimizer whose weight decay is added to the gradient unless decoupled (all but adamw): the two settings they share.</summary>
public abstract record DecayingOptimizer : OptimizerConfig
{
    [Setting("L2 weight decay λ on the weights (not the biases)", Min = 0)] public double WeightDecay { get; init; }
    [Setting("apply weight decay to the weights directly (p ← p − lr·λ·p), not in the gradient")] public bool Decoupled { get; init; }
    public override double Decay => WeightDecay;
    public override bool DecoupledDecay => Decoupled;
}

[Kind("sgd", "SGD", "g ← g/divisor + λp; with momentum μ: v ← μv + (1 − τ)g (v₁ = g), step v (g + μv with nesterov); p ← p − lr·step")]
public sealed record SgdConfig : DecayingOptimizer
{
    [Setting("momentum factor μ", Min = 0, Max = 1, BelowMax = true)] public double Momentum { get; init; }
    [Setting("dampening τ of the momentum: v ← μv + (1 − τ)g after the first step", Min = 0, Max = 1, BelowMax = true)] public double Dampening { get; init; }
    [Setting("Nesterov momentum (needs momentum > 0 and dampening 0)")] public bool Nesterov { get; init; }
    public override int StateArrays => Momentum > 0 ? 1 : 0;
}

[Kind("adam", "Adam", "m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; p ← p − lr·m̂/(√v̂ + ε) with bias corrections")]
public sealed record AdamConfig : DecayingOptimizer
{
    [Setting("decay rate of the first moment estimate", Min = 0, Max = 1, BelowMax = true)] public double Beta1 { get; init; } = 0.9;
    [Setting("decay rate of the second moment estimate", Min = 0, Max = 1, BelowMax = true)] public double Beta2 { get; init; } = 0.999;
    [Setting("added to the denominator", Min = 0, AboveMin = true)] public double Eps { get; init; } = 1e-8;
    public override int StateArrays => 2;
}

[Kind("adamw", "AdamW", "Adam with weight decay applied to the weights directly (decoupled), 0.01 by default")]
public sealed record AdamWConfig : OptimizerConfig
{
    [Setting("decay rate of the first moment estimate", Min = 0, Max = 1, BelowMax = true)] public double Beta1 { get; init; } = 0.9;
    [Setting("decay rate of the second moment estimate", Min = 0, Max = 1, BelowMax = true)] public double Beta2 { get; init; } = 0.999;
    [Setting("added to the denominator", Min = 0, AboveMin = true)] public double Eps { get; init; } = 1e-8;
    [Setting("weight decay λ, applied to the weights directly (not the biases)", Min = 0)] public double WeightDecay { get; init; } = 0.01;
    public override double Decay => WeightDecay;
    public override bool DecoupledDecay => true;
    public override int StateArrays => 2;
}

[Kind("rmsprop", "RMSprop", "v ← αv + (1−α)g²; step g/(√v + ε) (with momentum μ: b ← μb + that); p ← p − lr·step")]
public sealed record RmspropConfig : DecayingOptimizer
{
    [Setting("decay rate of the squared-gradient average", Min = 0, Max = 1, BelowMax = true)] public double Alpha { get; init; } = 0.99;
    [Setting("added to the denominator", Min = 0, AboveMin = true)] public double Eps { get; init; } = 1e-8;
    [Setting("momentum factor μ", Min = 0, Max = 1, BelowMax = true)] public double Momentum { get; init; }
    public override int StateArrays => Momentum > 0 ? 2 : 1;
}

[Kind("adagrad", "Adagrad", "Σ ← Σ + g²; p ← p − (lr/(1 + (t − 1)·lr_decay))·g/(√Σ + ε)")]
public sealed record AdagradConfig : DecayingOptimizer
{
    [Setting("the rate is lr/(1 + (t − 1)·lr_decay) at step t", Min = 0)] public double LrDecay { get; init; }
    [Setting("added to the denominator", Min = 0, AboveMin = true)] public double Eps { get; init; } = 1e-10;
    public override int StateArrays => 1;
}

/// <summary>The optimizers a config can name, in the order the docs list them.</summary>
public static class Optimizers
{
    public static readonly KindSet Kinds = new("training.optimizer", "name",
        [Kind.Of(typeof(SgdConfig)), Kind.Of(typeof(AdamConfig)), Kind.Of(typeof(AdamWConfig)), Kind.Of(typeof(RmspropConfig)), Kind.Of(typeof(AdagradConfig))]);

    public static string NameOf(OptimizerConfig o) => Kinds.Of(o).Name;
}

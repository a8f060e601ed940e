using System.Runtime.CompilerServices;
using System.Numerics;

using ExpRunner.Config;
using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>
/// Turns the network's gradients into a step. The network's DW/DB hold gradients summed over the
/// batch's examples; <see cref="Step"/> is the one place where they are combined (mean or sum, per
/// parameter kind: <see cref="Divisor"/>) before any optimizer sees them. Each optimizer follows
/// PyTorch's formulas and defaults; weight decay applies to weights, not biases — added to the
/// reduced gradient (λ·p), or with decoupled (adamw always) applied to the weights directly
/// (p ← p·(1 − lr·λ)) before the step. State (momentum, moment estimates) is kept per parameter.
/// </summary>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    protected readonly TrainingConfig Config;
    private readonly List<T[]> _state = [];

    /// <summary>Steps taken (t in the formulas: the first step is t = 1).</summary>
    public long Steps { get; set; }

    protected Optimizer(TrainingConfig config) => Config = config;

    /// <summary>The update rule of the config's optimizer (each declared in Config/Optimizers.cs).</summary>
    public static Optimizer<T> Create(TrainingConfig config, Network<T> net) => config.Optimizer switch
    {
        SgdConfig sgd => new SgdOptimizer<T>(config, sgd, net),
        AdamConfig adam => new AdamOptimizer<T>(config, adam.Beta1, adam.Beta2, adam.Eps, net),
        AdamWConfig adamw => new AdamOptimizer<T>(config, adamw.Beta1, adamw.Beta2, adamw.Eps, net),
        RmspropConfig rmsprop => new RmspropOptimizer<T>(config, rmsprop, net),
        AdagradConfig adagrad => new AdagradOptimizer<T>(config, adagrad, net),
        _ => throw new ArgumentException($"no update rule for optimizer {config.Optimizer.GetType().Name}"),
    };

    /// <summary>
    /// The gradient-reduction rule: the per-example gradients of a batch of <paramref name="rows"/>
    /// are averaged (divide by rows) or summed (divide by 1), so sum at lr/B steps exactly like mean at lr
    /// under SGD. (Adam, RMSprop and Adagrad divide by a running scale of the gradient: there the
    /// reduction nearly stops mattering.)
    /// </summary>
    public static double Divisor(Reduction reduction, int rows) => reduction == Reduction.Mean ? rows : 1;

    /// <summary>One step at learning rate <paramref name="lr"/> (the schedule's for this step) from the gradients of a batch of <paramref name="rows"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Step(Network<T> net, int rows, double lr)
    {
        Steps++;
        double wScale = 1 / Divisor(Config.GradientReduction.Weights, rows), bScale = 1 / Divisor(Config.GradientReduction.Biases, rows);
        double decay = Config.Optimizer.Decay;
        bool decoupled = Config.Optimizer.DecoupledDecay;
        for (int l = 0; l < net.Layers.Count; l++)
        {
            var layer = net.Layers[l];
            // The weights are updated split as dW = δᵀ·X was (by rows of W): each product thread updates the rows whose
            // gradient it has just computed, still in its cache. (Every element's update is independent of the others',
            // so the result is the same however it is split.)
            int parts = Gemm.Parts(layer.Out, layer.In, rows, net.Threads);
            if (parts > 1) WorkerPool.Run(_work.Set(this, 2 * l, layer.W, layer.DW, layer.In, lr, wScale, decay, decoupled, parts), parts);
            else Weights(2 * l, 0, layer.W, layer.DW, layer.In, lr, wScale, decay, decoupled);
            if (Measure is { } m) Measured(m, 2 * l + 1, 0, layer.B, layer.DB, layer.B.Length, lr, bScale, 0, false);
            else Update(2 * l + 1, 0, layer.B, layer.DB, lr, bScale, 0);
        }
    }

    /// <summary>
    /// When set (a probed step), the next <see cref="Step"/> measures what it does row by row of each tensor while
    /// the row is in cache: Σw² before, Σg² of the summed gradient, Σ(Δw)² — per row, so the sums do not depend on
    /// how the rows were split across threads. The update itself is the same element for element.
    /// </summary>
    internal UpdateSums? Measure { get; set; }

    /// <summary>Per tensor slot (2·layer, +1 for biases) and row: Σw² before the update, Σg², Σ(Δw)².</summary>
    internal sealed class UpdateSums(Network<T> net)
    {
        public readonly double[][] Weights = Rows(net), Gradients = Rows(net), Updates = Rows(net);
        private static double[][] Rows(Network<T> net) => [.. net.Layers.SelectMany(l => new[] { new double[l.Out], new double[1] })];
    }

    private void Weights(int slot, int offset, Span<T> w, ReadOnlySpan<T> grad, int cols, double lr, double scale, double decay, bool decoupled)
    {
        if (Measure is { } m) { Measured(m, slot, offset, w, grad, cols, lr, scale, decay, decoupled); return; }
        if (decoupled && decay > 0) Elementwise.Scale(w, T.CreateChecked(1 - lr * decay));
        Update(slot, offset, w, grad, lr, scale, decoupled ? 0 : decay);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Measured(UpdateSums m, int slot, int offset, Span<T> w, ReadOnlySpan<T> grad, int cols, double lr, double scale, double decay, bool decoupled)
    {
        Span<T> before = cols <= 4096 ? stackalloc T[cols] : new T[cols];
        int first = offset / cols;
        for (int r = 0; r < w.Length / cols; r++)
        {
            var row = w.Slice(r * cols, cols);
            var g = grad.Slice(r * cols, cols);
            (m.Weights[slot][first + r], m.Gradients[slot][first + r]) = Elementwise.SquaresAndCopy<T>(row, g, before);
            if (decoupled && decay > 0) Elementwise.Scale(row, T.CreateChecked(1 - lr * decay));
            Update(slot, offset + r * cols, row, g, lr, scale, decoupled ? 0 : decay);
            m.Updates[slot][first + r] = Elementwise.SquaredDistance<T>(row, before);
        }
    }

    private readonly UpdateWork _work = new();

    /// <summary>One weight update split by rows of W as the gradient's product was, run by the product threads.</summary>
    private sealed class UpdateWork : PartitionedWork
    {
        private Optimizer<T> _optimizer = null!;
        private T[] _w = [], _grad = [];
        private int _slot, _cols, _parts;
        private double _lr, _scale, _decay;
        private bool _decoupled;

        public UpdateWork Set(Optimizer<T> optimizer, int slot, T[] w, T[] grad, int cols, double lr, double scale, double decay, bool decoupled, int parts)
        {
            (_optimizer, _slot, _w, _grad, _cols, _lr, _scale, _decay, _decoupled, _parts) = (optimizer, slot, w, grad, cols, lr, scale, decay, decoupled, parts);
            return this;
        }

        public override void Run(int part)
        {
            var (r0, r1) = Gemm.Rows(_w.Length / _cols, _parts, part);
            int start = r0 * _cols, end = r1 * _cols;
            if (end > start)
                _optimizer.Weights(_slot, start, _w.AsSpan(start, end - start), _grad.AsSpan(start, end - start), _cols, _lr, _scale, _decay, _decoupled);
        }
    }

    /// <summary>
    /// Updates parameters <paramref name="p"/> (slot: 2·layer for weights, +1 for biases; <paramref name="offset"/>: where
    /// <paramref name="p"/> starts in the slot's tensor, and so in its state) from summed gradients × <paramref name="scale"/> + <paramref name="decay"/>·p.
    /// </summary>
    protected abstract void Update(int slot, int offset, Span<T> p, ReadOnlySpan<T> grad, double lr, double scale, double decay);

    /// <summary>A state buffer per parameter tensor (zeros), registered for checkpoints.</summary>
    protected T[][] Buffers(Network<T> net)
    {
        var buffers = net.Layers.SelectMany(l => new[] { new T[l.W.Length], new T[l.B.Length] }).ToArray();
        _state.AddRange(buffers);
        return buffers;
    }

    /// <summary>Every state buffer, in a fixed order (what a checkpoint saves and restores).</summary>
    public IReadOnlyList<T[]> State => _state;
}

/// <summary>
/// SGD (torch.optim.SGD, dampening 0): g ← g/divisor + λp; with momentum μ: v ← μv + g, and the step
/// is v (or g + μv with nesterov); p ← p − lr·step.
/// </summary>
public sealed class SgdOptimizer<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][]? _velocity;
    private readonly SgdConfig _sgd;

    public SgdOptimizer(TrainingConfig config, SgdConfig sgd, Network<T> net) : base(config)
    {
        _sgd = sgd;
        if (sgd.Momentum > 0) _velocity = Buffers(net);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(int slot, int offset, Span<T> p, ReadOnlySpan<T> grad, double lr, double scale, double decay)
    {
        if (_velocity is null)
        {
            // p ← p(1 − lr·λ) − (lr/divisor)·g
            if (decay > 0) Elementwise.Scale(p, T.CreateChecked(1 - lr * decay));
            Elementwise.MultiplyAdd(grad, T.CreateChecked(-(lr * scale)), p);
            return;
        }
        var v = _velocity[slot].AsSpan(offset, p.Length);
        T mu = T.CreateChecked(_sgd.Momentum), s = T.CreateChecked(scale), lambda = T.CreateChecked(decay), rate = T.CreateChecked(lr);
        if (_sgd.Dampening > 0)
        {
            // PyTorch's dampening τ: v₁ = g, then v ← μv + (1 − τ)g ;  p ← p − lr·v
            T keep = T.CreateChecked(Steps == 1 ? 1 : 1 - _sgd.Dampening);
            for (int i = 0; i < p.Length; i++)
            {
                v[i] = mu * v[i] + keep * (grad[i] * s + lambda * p[i]);
                p[i] -= rate * v[i];
            }
            return;
        }
        if (!_sgd.Nesterov)
        {
            // v ← μv + g/divisor + λp ;  p ← p − lr·v
            for (int i = 0; i < p.Length; i++)
            {
                v[i] = mu * v[i] + grad[i] * s + lambda * p[i];
                p[i] -= rate * v[i];
            }
            return;
        }
        // g' = g/divisor + λp ; v ← μv + g' ; p ← p − lr·(g' + μv)
        for (int i = 0; i < p.Length; i++)
        {
            T g = grad[i] * s + lambda * p[i];
            v[i] = mu * v[i] + g;
            p[i] -= rate * (g + mu * v[i]);
        }
    }
}

/// <summary>
/// Adam (torch.optim.Adam; adamw: torch.optim.AdamW, its decay decoupled): g ← g/divisor + λp;
/// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; p ← p − (lr/(1 − β₁ᵗ))·m / (√v/√(1 − β₂ᵗ) + ε).
/// </summary>
public sealed class AdamOptimizer<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _m, _v;
    private readonly double _beta1, _beta2, _eps;

    public AdamOptimizer(TrainingConfig config, double beta1, double beta2, double eps, Network<T> net) : base(config)
    {
        (_beta1, _beta2, _eps) = (beta1, beta2, eps);
        _m = Buffers(net);
        _v = Buffers(net);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(int slot, int offset, Span<T> p, ReadOnlySpan<T> grad, double lr, double scale, double decay)
    {
        double b1 = _beta1, b2 = _beta2;
        double correction1 = 1 - Math.Pow(b1, Steps), correction2 = 1 - Math.Pow(b2, Steps);
        T beta1 = T.CreateChecked(b1), beta2 = T.CreateChecked(b2), oneMinus1 = T.CreateChecked(1 - b1), oneMinus2 = T.CreateChecked(1 - b2);
        T step = T.CreateChecked(lr / correction1), sqrtCorrection2 = T.CreateChecked(Math.Sqrt(correction2)), eps = T.CreateChecked(_eps);
        T s = T.CreateChecked(scale), lambda = T.CreateChecked(decay);
        var m = _m[slot].AsSpan(offset, p.Length);
        var v = _v[slot].AsSpan(offset, p.Length);
        for (int i = 0; i < p.Length; i++)
        {
            T g = grad[i] * s + lambda * p[i];
            m[i] = beta1 * m[i] + oneMinus1 * g;
            v[i] = beta2 * v[i] + oneMinus2 * g * g;
            p[i] -= step * m[i] / (T.Sqrt(v[i]) / sqrtCorrection2 + eps);
        }
    }
}

/// <summary>
/// RMSprop (torch.optim.RMSprop, not centered): g ← g/divisor + λp; v ← αv + (1 − α)g²; with momentum
/// μ: b ← μb + g/(√v + ε), p ← p − lr·b; without: p ← p − lr·g/(√v + ε).
/// </summary>
public sealed class RmspropOptimizer<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _square;
    private readonly T[][]? _momentum;
    private readonly RmspropConfig _rmsprop;

    public RmspropOptimizer(TrainingConfig config, RmspropConfig rmsprop, Network<T> net) : base(config)
    {
        _rmsprop = rmsprop;
        _square = Buffers(net);
        if (rmsprop.Momentum > 0) _momentum = Buffers(net);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(int slot, int offset, Span<T> p, ReadOnlySpan<T> grad, double lr, double scale, double decay)
    {
        T alpha = T.CreateChecked(_rmsprop.Alpha), oneMinus = T.CreateChecked(1 - _rmsprop.Alpha), eps = T.CreateChecked(_rmsprop.Eps);
        T rate = T.CreateChecked(lr), s = T.CreateChecked(scale), lambda = T.CreateChecked(decay), mu = T.CreateChecked(_rmsprop.Momentum);
        var v = _square[slot].AsSpan(offset, p.Length);
        bool momentum = _momentum is not null;
        var b = momentum ? _momentum![slot].AsSpan(offset, p.Length) : default;
        for (int i = 0; i < p.Length; i++)
        {
            T g = grad[i] * s + lambda * p[i];
            v[i] = alpha * v[i] + oneMinus * g * g;
            T scaled = g / (T.Sqrt(v[i]) + eps);
            if (!momentum) p[i] -= rate * scaled;
            else
            {
                b[i] = mu * b[i] + scaled;
                p[i] -= rate * b[i];
            }
        }
    }
}

/// <summary>
/// Adagrad (torch.optim.Adagrad, initial accumulator 0): g ← g/divisor + λp; Σ ← Σ + g²;
/// p ← p − (lr/(1 + (t − 1)·lr_decay))·g/(√Σ + ε).
/// </summary>
public sealed class AdagradOptimizer<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _sum;
    private readonly AdagradConfig _adagrad;

    public AdagradOptimizer(TrainingConfig config, AdagradConfig adagrad, Network<T> net) : base(config)
    {
        _adagrad = adagrad;
        _sum = Buffers(net);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Update(int slot, int offset, Span<T> p, ReadOnlySpan<T> grad, double lr, double scale, double decay)
    {
        T rate = T.CreateChecked(lr / (1 + (Steps - 1) * _adagrad.LrDecay)), eps = T.CreateChecked(_adagrad.Eps);
        T s = T.CreateChecked(scale), lambda = T.CreateChecked(decay);
        var sum = _sum[slot].AsSpan(offset, p.Length);
        for (int i = 0; i < p.Length; i++)
        {
            T g = grad[i] * s + lambda * p[i];
            sum[i] += g * g;
            p[i] -= rate * g / (T.Sqrt(sum[i]) + eps);
        }
    }
}

using System.Numerics;

using ExpRunner.Config;
using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>
/// Stochastic gradient descent with optional momentum and L2 weight decay (on weights, not
/// biases). The network's DW/DB hold gradients summed over the batch's examples; this class is
/// the one place where they are combined into a step (mean or sum, per parameter kind).
/// </summary>
public sealed class Sgd<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TrainingConfig _config;
    private readonly T[][]? _vw, _vb; // momentum buffers

    public Sgd(TrainingConfig config, Network<T> net)
    {
        _config = config;
        if (config.Momentum > 0)
        {
            _vw = net.Layers.Select(l => new T[l.W.Length]).ToArray();
            _vb = net.Layers.Select(l => new T[l.B.Length]).ToArray();
        }
    }

    /// <summary>
    /// The gradient-reduction rule: the per-example gradients of a batch of <paramref name="rows"/>
    /// are averaged (divide by rows) or summed (divide by 1), so sum at lr/B steps exactly like mean at lr.
    /// </summary>
    public static double Divisor(Reduction reduction, int rows) => reduction == Reduction.Mean ? rows : 1;

    public void Step(Network<T> net, int rows)
    {
        double lr = _config.LearningRate;
        double wDivisor = Divisor(_config.GradientReduction.Weights, rows);
        double bDivisor = Divisor(_config.GradientReduction.Biases, rows);
        for (int l = 0; l < net.Layers.Count; l++)
        {
            var layer = net.Layers[l];
            Update(layer.W, layer.DW, _vw?[l], lr, wDivisor, _config.WeightDecay);
            Update(layer.B, layer.DB, _vb?[l], lr, bDivisor, 0);
        }
    }

    private void Update(Span<T> p, ReadOnlySpan<T> grad, Span<T> velocity, double lr, double divisor, double decay)
    {
        if (velocity.IsEmpty)
        {
            // p ← p(1 − lr·λ) − (lr/divisor)·g
            if (decay > 0) Elementwise.Scale(p, T.CreateChecked(1 - lr * decay));
            Elementwise.MultiplyAdd(grad, T.CreateChecked(-(lr / divisor)), p);
            return;
        }
        // v ← μv + g/divisor + λp ;  p ← p − lr·v
        T mu = T.CreateChecked(_config.Momentum), inv = T.CreateChecked(1 / divisor), lambda = T.CreateChecked(decay), rate = T.CreateChecked(lr);
        for (int i = 0; i < p.Length; i++)
        {
            velocity[i] = mu * velocity[i] + grad[i] * inv + lambda * p[i];
            p[i] -= rate * velocity[i];
        }
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using ExpRunner.Config;
using ExpRunner.Nn;

namespace ExpRunner.Training;

/// <summary>A histogram of one tensor at an epoch's end: <see cref="Counts"/> over equal bins from <see cref="Low"/> to <see cref="High"/> (the tensor's least and greatest values).</summary>
public sealed record Histogram(int Layer, string Tensor, string Of, double Low, double High, long[] Counts);

/// <summary>The probes' columns for layers of these activations, and where each layer's norms and activation columns start.</summary>
public static class ProbeLayout
{
    public static (List<string> Columns, (int Norms, int Activations, string Kind)[] At) Of(IReadOnlyList<string> activations, ProbesConfig config)
    {
        var columns = new List<string>();
        var at = new (int, int, string)[activations.Count];
        for (int l = 0; l < activations.Count; l++)
        {
            string kind = activations[l], p = $"layer{l}.";
            int norms = columns.Count;
            if (config.Norms)
                foreach (var tensor in (string[])["weight", "bias"])
                    columns.AddRange([p + tensor + ".grad_norm", p + tensor + ".norm", p + tensor + ".update_norm", p + tensor + ".update_ratio"]);
            int acts = columns.Count;
            if (config.Activations)
            {
                if (kind == "relu") columns.Add(p + "dead");
                if (kind is "sigmoid" or "tanh") columns.Add(p + "saturated");
                columns.AddRange([p + "pre_mean", p + "pre_std"]);
            }
            at[l] = (norms, acts, kind);
        }
        return (columns, at);
    }

    /// <summary>The columns a config's probes add to steps.csv.gz (none without probes).</summary>
    public static IReadOnlyList<string> Of(ExperimentConfig config) =>
        config.Probes is { } p ? Of(config.Model.Layers.Select(l => SnakeNames<ActivationKind>.Of(l.Activation)).ToList(), p).Columns : [];
}

/// <summary>
/// The probes of `probes:`, measured inside the step where the trainer has everything at hand. Per layer
/// l (from 0), as columns named `layer{l}.…`:
/// <list type="bullet">
/// <item>norms — `weight.grad_norm` ‖g‖ of the loss's gradient after the batch reduction (what mean vs
/// sum changes; weight decay not included), `weight.norm` ‖w‖ before the update, `weight.update_norm`
/// ‖Δw‖ of the update the optimizer made, `weight.update_ratio` ‖Δw‖/‖w‖ (empty when ‖w‖ = 0); the same
/// for `bias.…` — all Euclidean (Frobenius) norms;</item>
/// <item>activations, on the step's batch — `dead` (relu layers): the fraction of units whose output is
/// zero for every example; `saturated` (sigmoid, tanh): the fraction of units whose derivative is below
/// 1 % of its largest (σ′ &lt; 0.0025, tanh′ &lt; 0.01) for every example — units that pass no gradient
/// back for any example of the batch; `pre_mean`, `pre_std`: mean and (population) standard deviation
/// of the pre-activations z = x·Wᵀ + b over the batch's examples and the layer's units.</item>
/// </list>
/// Sums are taken in double whatever the run's precision.
/// </summary>
public sealed class Probes<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Below this fraction of its largest derivative a sigmoid or tanh unit counts as saturated.</summary>
    public const double SaturationThreshold = 0.01;

    private readonly Network<T> _net;
    private readonly Optimizer<T> _optimizer;
    private readonly Optimizer<T>.UpdateSums? _sums;
    private readonly ProbesConfig _config;
    private readonly T[] _extremes;
    private readonly double[] _values;
    private readonly (int Norms, int Activations, string Kind)[] _at;
    private double _wScale = 1, _bScale = 1;

    public IReadOnlyList<string> Columns { get; }
    public bool Histograms => _config.Histograms;

    public Probes(Network<T> net, Optimizer<T> optimizer, ProbesConfig config)
    {
        _net = net; _optimizer = optimizer; _config = config;
        (var columns, _at) = ProbeLayout.Of(net.Layers.Select(l => l.Activation.Name).ToList(), config);
        Columns = columns;
        _values = new double[columns.Count];
        if (config.Norms) _sums = new Optimizer<T>.UpdateSums(net);
        _extremes = new T[net.Layers.Max(l => l.Out)];
    }

    public bool Due(long step) => step % _config.EverySteps == 0;

    /// <summary>After the backward pass of a batch of <paramref name="rows"/>, before the update: gradients, weights, activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void BeforeUpdate(int rows, Reduction weights, Reduction biases)
    {
        _wScale = 1 / Optimizer<T>.Divisor(weights, rows);
        _bScale = 1 / Optimizer<T>.Divisor(biases, rows);
        if (_config.Activations)
            for (int l = 0; l < _net.Layers.Count; l++) Activations(l, rows, _at[l].Activations, _at[l].Kind);
        // The norms are measured by the optimizer as it updates each row (in cache: no pass of their own over the weights).
        _optimizer.Measure = _sums;
    }

    /// <summary>After the update: its norms and ratios. The values of the step's columns (a copy).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public double[] AfterUpdate()
    {
        _optimizer.Measure = null;
        if (_sums is { } m)
            for (int l = 0; l < _net.Layers.Count; l++)
            {
                int n = _at[l].Norms;
                for (int t = 0; t < 2; t++, n += 4)
                {
                    int slot = 2 * l + t;
                    double w = Math.Sqrt(Total(m.Weights[slot])), u = Math.Sqrt(Total(m.Updates[slot]));
                    _values[n] = Math.Sqrt(Total(m.Gradients[slot])) * (t == 0 ? _wScale : _bScale);
                    _values[n + 1] = w;
                    _values[n + 2] = u;
                    _values[n + 3] = w > 0 ? u / w : double.NaN;
                }
            }
        return (double[])_values.Clone();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Activations(int l, int rows, int at, string kind)
    {
        var layer = _net.Layers[l];
        int cols = layer.Out, count = rows * cols;
        var z = _net.PreActivations(l, rows);
        if (kind is "relu" or "sigmoid" or "tanh")
        {
            // A unit passes gradient for an example when z > 0 (relu), or when its derivative is at least the
            // threshold: tanh′ = 1 − a² ≥ t ⟺ |a| ≤ √(1 − t); σ′ = a(1 − a) ≥ t/4 ⟺ |a − ½| ≤ ½√(1 − t). Per unit, the
            // greatest z (relu) or the least |a − centre| over the batch says whether it does for any example.
            var extreme = _extremes.AsSpan(0, cols);
            int stuck = 0;
            if (kind == "relu")
            {
                Elementwise.ColumnExtremes<T>(z, rows, cols, extreme, null);
                foreach (var e in extreme) if (!(e > T.Zero)) stuck++;
            }
            else
            {
                bool sigmoid = kind == "sigmoid";
                Elementwise.ColumnExtremes<T>(_net.LayerOutput(l, rows), rows, cols, extreme, sigmoid ? T.CreateChecked(0.5) : T.Zero);
                double reach = sigmoid ? 0.5 * Math.Sqrt(1 - SaturationThreshold) : Math.Sqrt(1 - SaturationThreshold);
                foreach (var e in extreme) if (!(double.CreateTruncating(e) <= reach)) stuck++;
            }
            _values[at++] = (double)stuck / cols;
        }
        double mean = Elementwise.Sum(z) / count;
        _values[at] = mean;
        _values[at + 1] = Math.Sqrt(Elementwise.SumOfSquares(z, mean) / count);
    }

    /// <summary>The rows' sums, added in row order.</summary>
    private static double Total(double[] rows)
    {
        double sum = 0;
        foreach (double r in rows) sum += r;
        return sum;
    }

    /// <summary>
    /// Histograms of every layer's weights and biases and of their gradients (the last step's, after the
    /// batch reduction) — <see cref="ProbesConfig.Bins"/> equal bins from each tensor's least to its greatest
    /// value (a tensor of one value: one bin either side of it).
    /// </summary>
    public IReadOnlyList<Histogram> TakeHistograms()
    {
        var all = new List<Histogram>(4 * _net.Layers.Count);
        for (int l = 0; l < _net.Layers.Count; l++)
        {
            var layer = _net.Layers[l];
            all.Add(Of(l, "weight", "value", layer.W, 1));
            all.Add(Of(l, "bias", "value", layer.B, 1));
            all.Add(Of(l, "weight", "gradient", layer.DW, _wScale));
            all.Add(Of(l, "bias", "gradient", layer.DB, _bScale));
        }
        return all;
    }

    private Histogram Of(int layer, string tensor, string of, T[] values, double scale)
    {
        double low = values.Min(v => double.CreateChecked(v)) * scale, high = values.Max(v => double.CreateChecked(v)) * scale;
        if (scale < 0) (low, high) = (high, low);
        if (!(high > low)) (low, high) = (low - 0.5, high + 0.5);
        var counts = new long[_config.Bins];
        double width = (high - low) / counts.Length;
        foreach (var v in values)
        {
            double x = double.CreateChecked(v) * scale;
            int bin = double.IsFinite(x) ? (int)Math.Clamp(Math.Floor((x - low) / width), 0, counts.Length - 1) : x > 0 ? counts.Length - 1 : 0;
            counts[bin]++;
        }
        return new Histogram(layer, tensor, of, low, high, counts);
    }
}
